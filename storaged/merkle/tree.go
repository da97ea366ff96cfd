package merkle

import "slices"

// Tree is the tictac hash tree of one partition replica: Size() leaves of 4
// bytes, grouped BranchWidth to a branch, each leaf the XOR of the low 32 bits
// of Hash(key, object) over the keys that LeafOf puts in it. Branch and root
// hashes are kept current on every Apply, so reading any level is O(1).
//
// A Tree is built empty by New and kept current by Apply; it holds no keys,
// only hashes. It is not safe for concurrent mutation; reads may run
// concurrently with each other. The zero Tree is not usable: use New.
type Tree struct {
	leaves   []uint32
	branches []uint32
	root     uint32
}

// New returns the empty tree of leaves leaves (see LeavesFor), or an error
// wrapping ErrInvalid when leaves is not a power of two in [MinLeaves,
// MaxLeaves].
func New(leaves int) (*Tree, error) {
	if err := checkSize("new tree", leaves); err != nil {
		return nil, err
	}
	return &Tree{leaves: make([]uint32, leaves), branches: make([]uint32, leaves/BranchWidth)}, nil
}

// Apply XORs delta into key's leaf, its branch and the root. delta is
// Hash(key, old) ^ Hash(key, new) for a committed write that turned key's
// object from old into new (0 for an absent key); only its low 32 bits are
// kept, which commutes with XOR. Applying the same delta twice undoes it, so
// a shell applies a batch's deltas exactly once, after its commit succeeds.
func (t *Tree) Apply(key []byte, delta uint64) {
	d := uint32(delta)
	i := LeafOf(key, len(t.leaves))
	t.leaves[i] ^= d
	t.branches[i/BranchWidth] ^= d
	t.root ^= d
}

// Size returns the number of leaves.
func (t *Tree) Size() int { return len(t.leaves) }

// Root returns the XOR of every leaf: equal roots mean equal trees except by
// chance (2^-32).
func (t *Tree) Root() uint32 { return t.root }

// Branches returns the hash of every branch, in branch order, in a new slice
// of Size()/BranchWidth entries.
func (t *Tree) Branches() []uint32 { return slices.Clone(t.branches) }

// Branch returns the hash of branch i: the XOR of leaves
// [i*BranchWidth, (i+1)*BranchWidth). It panics, like a slice index, if i is
// not in [0, Size()/BranchWidth).
func (t *Tree) Branch(i int) uint32 { return t.branches[i] }

// BranchLeaves returns the BranchWidth leaf hashes of branch i in a new slice.
// It panics if i is out of range, like Branch.
func (t *Tree) BranchLeaves(i int) []uint32 {
	return slices.Clone(t.leaves[i*BranchWidth : (i+1)*BranchWidth])
}

// Leaf returns the hash of leaf i. It panics if i is not in [0, Size()).
func (t *Tree) Leaf(i int) uint32 { return t.leaves[i] }

// LeafOf returns key's leaf in t: LeafOf(key, t.Size()).
func (t *Tree) LeafOf(key []byte) int { return LeafOf(key, len(t.leaves)) }

// Clone returns an independent copy of t in two allocations (O(Size()):
// 1 MiB at MaxLeaves), for example a snapshot an exchange compares against
// while writes go on applying to t.
func (t *Tree) Clone() *Tree {
	return &Tree{leaves: slices.Clone(t.leaves), branches: slices.Clone(t.branches), root: t.root}
}

// Equal reports whether t and u have the same size and the same leaves.
func (t *Tree) Equal(u *Tree) bool {
	return t.root == u.root && slices.Equal(t.leaves, u.leaves)
}

// Fold returns the tree of to leaves that t's keys would have built: leaf i
// of the result is the XOR of t's leaves i, i+to, i+2*to, ... It returns an
// error wrapping ErrInvalid unless to is a valid size no larger than
// t.Size(). Folding to t.Size() returns a copy. Fold does not modify t.
func (t *Tree) Fold(to int) (*Tree, error) {
	if err := checkSize("fold", to); err != nil {
		return nil, err
	}
	if to > len(t.leaves) {
		return nil, invalidf("fold: %d leaves cannot fold to a larger %d", len(t.leaves), to)
	}
	return &Tree{
		leaves:   foldHashes(t.leaves, to),
		branches: foldHashes(t.branches, to/BranchWidth),
		root:     t.root,
	}, nil
}

// foldHashes XORs hs onto its first to entries: out[i%to] ^= hs[i]. len(hs)
// is a multiple of to.
func foldHashes(hs []uint32, to int) []uint32 {
	out := slices.Clone(hs[:to])
	for i := to; i < len(hs); i += to {
		for j, h := range hs[i : i+to] {
			out[j] ^= h
		}
	}
	return out
}
