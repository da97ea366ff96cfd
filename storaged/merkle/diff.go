package merkle

// DiffBranches returns the ids of the branches whose hashes differ between a
// and b, ascending (nil when none do). Trees of different sizes are compared
// at the smaller size, the larger folded (O(Size()) of the larger, on the
// branch level only); the ids are then branch ids of the smaller size.
func DiffBranches(a, b *Tree) []int {
	x, y := a.branches, b.branches
	switch {
	case len(x) > len(y):
		x = foldHashes(x, len(y))
	case len(y) > len(x):
		y = foldHashes(y, len(x))
	}
	return diffHashes(x, y)
}

// DiffLeaves returns the ids of the leaves under branches (sorted strictly)
// whose hashes differ between a and b, ascending. a and b must have the same
// size (fold the larger first, Tree.Fold); otherwise, or when a branch id is
// out of range, it returns an error wrapping ErrMismatch or ErrInvalid.
func DiffLeaves(a, b *Tree, branches []int) ([]int, error) {
	if a.Size() != b.Size() {
		return nil, mismatchf("diff leaves: trees of %d and %d leaves; fold the larger first", a.Size(), b.Size())
	}
	if err := checkIDs("diff leaves", branches, len(a.branches)); err != nil {
		return nil, err
	}
	var out []int
	for _, br := range branches {
		for i := br * BranchWidth; i < (br+1)*BranchWidth; i++ {
			if a.leaves[i] != b.leaves[i] {
				out = append(out, i)
			}
		}
	}
	return out, nil
}

// DiffPart returns the ids of peer's nodes whose hashes differ from t's
// nodes of the same id and level, ascending (nil when none do): the
// differing branches for a branch-level part, the differing leaves for a
// leaf-level one. Only the ids peer carries are compared.
//
// When peer comes from a larger tree, a complete part (Top) is folded to
// t's size and compared there; an incomplete part from a larger tree is an
// error wrapping ErrMismatch (the larger side folds before sending). When t
// is the larger, t is compared folded to peer's size, computing only the
// nodes peer carries. An invalid peer is an error wrapping ErrInvalid.
func (t *Tree) DiffPart(peer Part) ([]int, error) {
	if err := peer.Validate(); err != nil {
		return nil, err
	}
	if peer.Leaves > t.Size() {
		if !peer.Complete() {
			return nil, mismatchf("diff: a partial %s part of a %d-leaf tree cannot compare with %d leaves",
				peer.Level, peer.Leaves, t.Size())
		}
		var err error
		if peer, err = peer.Fold(t.Size()); err != nil {
			return nil, err
		}
	}
	own := t.leaves
	if peer.Level == LevelBranch {
		own = t.branches
	}
	stride := peer.Level.width(peer.Leaves)
	var out []int
	for i, id := range peer.IDs {
		var h uint32
		for j := id; j < len(own); j += stride {
			h ^= own[j]
		}
		if h != peer.Hashes[i] {
			out = append(out, id)
		}
	}
	return out, nil
}

// diffHashes returns the indexes at which x and y (of equal length) differ.
func diffHashes(x, y []uint32) []int {
	var out []int
	for i := range x {
		if x[i] != y[i] {
			out = append(out, i)
		}
	}
	return out
}
