// Package merkle holds the per-partition hash trees of Shoal's anti-entropy
// and their diff: the pure core that lets two replicas of a partition find
// the keys on which they differ without reading the partition (Dynamo, SOSP
// 2007, §4.7: one Merkle tree per key range, compared root first,
// descending only where hashes differ).
//
// The trees are Riak 3's tictac trees (martinsumner/kv_index_tictactree,
// docs/TICTAC.md; leveled_tictac.erl) rather than classic Merkle trees: a
// leaf is the XOR of the hashes of the keys that fall in it, a branch the XOR
// of its BranchWidth leaves, the root the XOR of the branches. XOR makes three
// things cheap:
//
//   - Incremental upkeep with no dirty marks and no rescans: a write that
//     turns key k's object from old to new applies the delta
//     Hash(k, old) ^ Hash(k, new) to one leaf, one branch and the root. An
//     absent object hashes to 0, so inserting and removing a key are the
//     same operation. A write whose batch fails to commit simply never
//     applies its delta.
//   - Folding: leaf i of a tree of L leaves lands in leaf i mod L/2 of the
//     tree of L/2 leaves (LeafOf uses the low bits of the key's leaf hash),
//     so Fold XORs the upper half onto the lower one and two peers whose
//     trees have different sizes compare at the smaller size.
//   - Order independence: the tree of a set of keys does not depend on the
//     order in which they were applied, so a tree rebuilt by a scan equals
//     the one kept current write by write (the property the tests check).
//
// What is hashed, and why (Hash): the key; the object's version vector; every
// sibling's dot, tombstone flag and value length; and a CRC-32C digest of
// every sibling's value. Riak hashes only the key and the clock, which hides
// a value corrupted on disk under an unchanged dot; hashing a value digest
// makes silent corruption show up as a difference that the exchange then
// repairs by a DVV merge. Tombstones are hashed like any state, so reaping
// one later shows up as a change too. The encoding hashed is canonical: the
// dvv package keeps siblings sorted by dot and version vector entries sorted
// by actor, and every variable-length field is length-prefixed.
//
// Sizes: LeavesFor(keys) = nextpow2(keys/KeysPerLeaf) clamped to
// [MinLeaves, MaxLeaves], so a 1,000,000-key partition gets 2^18 leaves in
// 4096 branches (1 MiB of leaves, a 16 KiB top level).
//
// The exchange sends Parts: a sparse, sorted slice of one level of a tree
// (the top level: every branch hash; a set of branches; the leaves of a set
// of branches), encoded compactly by Part.Encode and decoded, bounded, by
// DecodePart. DiffBranches, DiffLeaves and Tree.DiffPart list the ids that
// differ, sorted.
//
// The package is pure: no I/O, no goroutines, no clock, no map iteration. A
// Tree is not safe for concurrent mutation; concurrent reads are safe.
package merkle
