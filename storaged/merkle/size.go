package merkle

import "math/bits"

const (
	// BranchWidth is the number of leaves under one branch: 64 leaves of 4
	// bytes make a 256-byte branch, the unit an exchange fetches.
	BranchWidth = 64

	// MinLeaves and MaxLeaves bound a tree's size (a power of two). 256 leaves
	// keep small partitions at 1 KiB; 2^18 leaves (1 MiB, 4096 branches) hold
	// a 1,000,000-key partition at about 4 keys per leaf.
	MinLeaves = 256
	MaxLeaves = 1 << 18

	// KeysPerLeaf is the load LeavesFor aims at: few enough keys that a
	// differing leaf costs a few key hashes to resolve, enough that the
	// tree stays a fraction of the data.
	KeysPerLeaf = 4
)

// LeavesFor returns the tree size for a partition of keys keys:
// nextpow2(keys/KeysPerLeaf) clamped to [MinLeaves, MaxLeaves]. A negative
// count counts as 0.
func LeavesFor(keys int) int {
	n := keys / KeysPerLeaf
	if n <= MinLeaves {
		return MinLeaves
	}
	if n >= MaxLeaves {
		return MaxLeaves
	}
	return 1 << bits.Len(uint(n-1))
}

// ValidSize reports whether leaves is a tree size: a power of two in
// [MinLeaves, MaxLeaves].
func ValidSize(leaves int) bool {
	return leaves >= MinLeaves && leaves <= MaxLeaves && leaves&(leaves-1) == 0
}

func checkSize(what string, leaves int) error {
	if !ValidSize(leaves) {
		return invalidf("%s: %d leaves, want a power of two in [%d, %d]", what, leaves, MinLeaves, MaxLeaves)
	}
	return nil
}

// LeafOf returns the leaf of key in a tree of leaves leaves: the low bits of
// a stable hash of key independent of Hash and of the ring's partition hash,
// so keys of one partition spread evenly over its leaves. LeafOf(key, L/2) ==
// LeafOf(key, L) % (L/2), which is what makes Fold exact. A shell picks the
// keys of a differing leaf from a partition scan with it.
//
// leaves must be a valid size (ValidSize), as every Tree's and every decoded
// Part's is; any other value panics.
func LeafOf(key []byte, leaves int) int {
	if !ValidSize(leaves) {
		panic("merkle: LeafOf: invalid tree size")
	}
	h := leafSeed
	h.bytes(key)
	return int(fmix64(uint64(h)) & uint64(leaves-1))
}
