package merkle

import (
	"errors"
	"fmt"
	"slices"
)

// Level names a level of a tree in a Part.
type Level uint8

const (
	// LevelBranch parts carry branch hashes; ids are branch ids in
	// [0, Leaves/BranchWidth).
	LevelBranch Level = 1
	// LevelLeaf parts carry leaf hashes; ids are leaf ids in [0, Leaves).
	LevelLeaf Level = 2
)

func (l Level) String() string {
	switch l {
	case LevelBranch:
		return "branch"
	case LevelLeaf:
		return "leaf"
	}
	return fmt.Sprintf("level(%d)", uint8(l))
}

// width returns the number of nodes at level l in a tree of leaves leaves,
// or 0 for an unknown level.
func (l Level) width(leaves int) int {
	switch l {
	case LevelBranch:
		return leaves / BranchWidth
	case LevelLeaf:
		return leaves
	}
	return 0
}

// Part is what an exchange sends of a tree: the hashes of some nodes of one
// level. IDs are sorted strictly ascending and Hashes[i] is the hash of node
// IDs[i]; Leaves is the size of the tree it was taken from, so the receiver
// knows whether to fold. A Part owns its slices.
type Part struct {
	Leaves int
	Level  Level
	IDs    []int
	Hashes []uint32
}

// Complete reports whether p holds every node of its level (as Top does).
func (p Part) Complete() bool {
	return len(p.IDs) == p.Level.width(p.Leaves)
}

// Validate reports what makes p not a Part of a tree (its size, its level,
// ids and hashes of different counts, and the first id out of order or out
// of range), joined in one error wrapping ErrInvalid. DecodePart returns
// only valid Parts.
func (p Part) Validate() error {
	var errs []error
	if err := checkSize("part", p.Leaves); err != nil {
		errs = append(errs, err)
	}
	if p.Level.width(MinLeaves) == 0 {
		errs = append(errs, invalidf("part: unknown level %d", uint8(p.Level)))
	}
	if len(p.IDs) != len(p.Hashes) {
		errs = append(errs, invalidf("part: %d ids but %d hashes", len(p.IDs), len(p.Hashes)))
	}
	if len(errs) == 0 {
		errs = append(errs, checkIDs("part", p.IDs, p.Level.width(p.Leaves)))
	}
	return errors.Join(errs...)
}

// checkIDs reports whether ids are sorted strictly and each in [0, width).
func checkIDs(what string, ids []int, width int) error {
	for i, id := range ids {
		if id < 0 || id >= width {
			return invalidf("%s: id %d at %d out of range [0, %d)", what, id, i, width)
		}
		if i > 0 && ids[i-1] >= id {
			return invalidf("%s: id %d at %d not after %d", what, id, i, ids[i-1])
		}
	}
	return nil
}

// Top returns every branch hash of t: the first thing an exchange sends
// (16 KiB encoded at MaxLeaves).
func (t *Tree) Top() Part {
	ids := make([]int, len(t.branches))
	for i := range ids {
		ids[i] = i
	}
	return Part{Leaves: len(t.leaves), Level: LevelBranch, IDs: ids, Hashes: t.Branches()}
}

// BranchPart returns the hashes of branches ids (sorted strictly, each in
// [0, Size()/BranchWidth)), or an error wrapping ErrInvalid. The Part owns a
// copy of ids.
func (t *Tree) BranchPart(ids []int) (Part, error) {
	if err := checkIDs("branch part", ids, len(t.branches)); err != nil {
		return Part{}, err
	}
	hs := make([]uint32, len(ids))
	for i, id := range ids {
		hs[i] = t.branches[id]
	}
	return Part{Leaves: len(t.leaves), Level: LevelBranch, IDs: slices.Clone(ids), Hashes: hs}, nil
}

// LeafPart returns the leaf hashes of every leaf under branches (sorted
// strictly, each in [0, Size()/BranchWidth)): BranchWidth leaves per branch.
// It is the answer to a list of differing branches.
func (t *Tree) LeafPart(branches []int) (Part, error) {
	if err := checkIDs("leaf part", branches, len(t.branches)); err != nil {
		return Part{}, err
	}
	n := len(branches) * BranchWidth
	p := Part{Leaves: len(t.leaves), Level: LevelLeaf, IDs: make([]int, 0, n), Hashes: make([]uint32, 0, n)}
	for _, b := range branches {
		for i := b * BranchWidth; i < (b+1)*BranchWidth; i++ {
			p.IDs = append(p.IDs, i)
		}
		p.Hashes = append(p.Hashes, t.leaves[b*BranchWidth:(b+1)*BranchWidth]...)
	}
	return p, nil
}

// LeavesPart returns the hashes of leaves ids (sorted strictly, each in
// [0, Size())), for example the differing leaves an initiator asks key
// hashes for.
func (t *Tree) LeavesPart(ids []int) (Part, error) {
	if err := checkIDs("leaves part", ids, len(t.leaves)); err != nil {
		return Part{}, err
	}
	hs := make([]uint32, len(ids))
	for i, id := range ids {
		hs[i] = t.leaves[id]
	}
	return Part{Leaves: len(t.leaves), Level: LevelLeaf, IDs: slices.Clone(ids), Hashes: hs}, nil
}

// Fold returns p as it would be taken from the tree folded to to leaves. Only
// a complete part folds (a partial one lacks the nodes that fold onto its
// own): folding an incomplete part is an error wrapping ErrMismatch, and an
// invalid p or to an error wrapping ErrInvalid.
func (p Part) Fold(to int) (Part, error) {
	if err := p.Validate(); err != nil {
		return Part{}, err
	}
	if err := checkSize("fold part", to); err != nil {
		return Part{}, err
	}
	if to > p.Leaves {
		return Part{}, invalidf("fold part: %d leaves cannot fold to a larger %d", p.Leaves, to)
	}
	if !p.Complete() {
		return Part{}, mismatchf("fold part: %d of %d %s hashes, only a complete part folds",
			len(p.IDs), p.Level.width(p.Leaves), p.Level)
	}
	w := p.Level.width(to)
	return Part{Leaves: to, Level: p.Level, IDs: slices.Clone(p.IDs[:w]), Hashes: foldHashes(p.Hashes, w)}, nil
}
