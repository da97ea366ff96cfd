package generator

import (
	"math/bits"
	"math/rand/v2"
)

// feistelRounds is enough rounds for a balanced Feistel network over a
// strong round function to look like a random permutation (Luby-Rackoff
// needs four).
const feistelRounds = 4

// Permutation is a keyed bijection of [0, n): a balanced Feistel network over
// the smallest even power of two that holds n, with cycle-walking to stay
// inside [0, n). Every item keeps its identity, only its place moves; so a
// zipfian rank passed through it keeps its exact probability (YCSB instead
// hashes ranks modulo n, which merges some items and drops others).
//
// A Permutation is immutable and safe for concurrent use.
type Permutation struct {
	n    int64
	half uint   // bits per half
	mask uint64 // (1 << half) - 1
	keys [feistelRounds]uint64
}

// NewPermutation returns the permutation of [0, n) keyed by seed. The same n
// and seed give the same permutation in every process. n must be >= 1.
func NewPermutation(n int64, seed uint64) *Permutation {
	if n < 1 {
		panic("generator: permutation of an empty range")
	}
	width := bits.Len64(uint64(n - 1)) // bits needed for n-1
	half := uint((width + 1) / 2)
	if half == 0 {
		half = 1
	}
	p := &Permutation{n: n, half: half, mask: 1<<half - 1}
	s := seed
	for i := range p.keys {
		s += 0x9e3779b97f4a7c15
		p.keys[i] = mix64(s)
	}
	return p
}

// Len returns n.
func (p *Permutation) Len() int64 { return p.n }

// Map returns the image of x, which must be in [0, n).
func (p *Permutation) Map(x int64) int64 {
	if x < 0 || x >= p.n {
		panic("generator: permutation input out of range")
	}
	v := uint64(x)
	for {
		v = p.encrypt(v)
		if v < uint64(p.n) {
			return int64(v)
		}
	}
}

func (p *Permutation) encrypt(v uint64) uint64 {
	l, r := v>>p.half, v&p.mask
	for _, k := range p.keys {
		l, r = r, l^(mix64(r^k)&p.mask)
	}
	return l<<p.half | r
}

// mix64 is the splitmix64 finalizer, a bijection on uint64 that spreads every
// input bit over the word.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// ScrambleSeed keys the permutation of scrambled zipfian choosers. It is fixed
// so that every run, process and target (Shoal or etcd) finds the same hot
// items.
const ScrambleSeed = 0x5ca1ab1e

// Scrambled is the "zipfian" request distribution: zipfian popularity with
// the popular items spread over the key space instead of packed at its
// start. Ranks are drawn over a fixed domain (the records loaded plus the
// inserts expected) and permuted; a draw beyond the items that exist yet is
// drawn again.
//
// It is not YCSB's ScrambledZipfianGenerator, and it is hotter. YCSB draws a
// zipfian over 10^10 items (whatever the record count) and takes an FNV hash
// of the rank modulo the record count, so its hottest key gets about 3.8% of
// the accesses (1/zeta(10^10, 0.99)) at any record count. Scrambled draws an
// exact zipfian over the domain itself, so its hottest key gets 1/zeta(n,
// theta): 9.8% at 10,000 records, 7.8% at 100,000 (theta 0.99). The skew
// therefore grows as the record count shrinks, and hot-key contention is
// greater than in a YCSB run of the same properties.
type Scrambled struct {
	z    *Zipfian
	perm *Permutation
}

// NewScrambled returns a scrambled zipfian chooser over domain items.
func NewScrambled(z *Zipfian, domain int64) *Scrambled {
	return &Scrambled{z: z, perm: NewPermutation(domain, ScrambleSeed)}
}

// Next returns an item in [0, limit); limit must be >= 1. Items at or above
// the domain are never chosen.
func (s *Scrambled) Next(r *rand.Rand, limit int64) int64 {
	if limit < 1 {
		panic("generator: choice over no items")
	}
	for {
		if v := s.perm.Map(s.z.Next(r, s.perm.n)); v < limit {
			return v
		}
	}
}
