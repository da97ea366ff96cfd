package ring

// The key hash is part of the on-disk and on-wire contract: every driver and
// storage node, of every version and on every architecture, must map a key to
// the same partition. So it is spelled out here rather than taken from
// hash/maphash (seeded per process) or any library whose output may change.
// Changing it moves every key; the golden test pins it.

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// keyHash is 64-bit FNV-1a over key, then the splitmix64 finalizer. FNV-1a
// alone is cheap and stable but mixes its high bits poorly for short keys
// that differ only at the end; the finalizer spreads every input bit over the
// whole word, and the partition is taken from the top bits.
func keyHash(key []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, b := range key {
		h ^= uint64(b)
		h *= fnvPrime64
	}
	return mix64(h)
}

// mix64 is the splitmix64 finalizer, a bijection on uint64.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// PartitionOf returns the partition that holds key: the top log2(Q) bits of
// its hash (64-bit FNV-1a, then the splitmix64 finalizer). It is the same in
// every process, version and architecture. Because the partition is a prefix
// of the hash, partition p of a ring of Q partitions is split into partitions
// 2p and 2p+1 of a ring of 2Q.
func (r *Ring) PartitionOf(key []byte) int {
	return int(keyHash(key) >> r.shift)
}

// splitmix is the splitmix64 generator: a tiny deterministic source of
// pseudo-randomness, seeded from a ring's inputs so that assignment is the
// same on every machine.
type splitmix struct{ state uint64 }

func (g *splitmix) next() uint64 {
	g.state += 0x9e3779b97f4a7c15
	return mix64(g.state)
}

// intn returns a number in [0, n) for n > 0. The modulo bias is below n/2^64,
// irrelevant for the small n used here.
func (g *splitmix) intn(n int) int { return int(g.next() % uint64(n)) }

// seedOf derives an assignment seed from the partition count and the sorted
// members' ids.
func seedOf(q int, sorted []Node) uint64 {
	h := uint64(fnvOffset64)
	add := func(b byte) {
		h ^= uint64(b)
		h *= fnvPrime64
	}
	for i := range 8 {
		add(byte(uint64(q) >> (8 * i)))
	}
	for _, n := range sorted {
		add(byte(len(n.ID))) // ids are at most MaxIDLen (255) bytes
		for i := 0; i < len(n.ID); i++ {
			add(n.ID[i])
		}
	}
	return mix64(h)
}

// idSeed derives a per-node seed from its id.
func idSeed(id NodeID) uint64 { return keyHash([]byte(id)) }
