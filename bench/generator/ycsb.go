package generator

import "math/rand/v2"

// YCSBItemCount is the item count YCSB's ScrambledZipfianGenerator draws its
// zipfian ranks over, whatever the record count (its ITEM_COUNT, 10^10).
const YCSBItemCount = 10_000_000_000

// YCSBScrambled is YCSB's ScrambledZipfianGenerator, for runs that must
// reproduce YCSB's key skew: a zipfian rank over YCSBItemCount items, FNV
// hashed (FNVHash64, absolute value as Java's Math.abs) modulo the domain.
// Many ranks land on each item, so the hottest item gets about 3.8% of the
// draws at theta 0.99 whatever the domain, against 1/zeta(domain, theta) for
// Scrambled (9.8% at 10,000 items). Unlike YCSB, ranks are drawn exactly
// (see Zipfian), not with Gray et al.'s approximation. A draw at or beyond
// limit is drawn again, as YCSB does for items not inserted yet.
//
// A YCSBScrambled is immutable and safe for concurrent use.
type YCSBScrambled struct {
	z      *Zipfian
	domain int64
}

// NewYCSBScrambled returns YCSB's scrambled zipfian over domain items;
// domain must be >= 1.
func NewYCSBScrambled(z *Zipfian, domain int64) *YCSBScrambled {
	if domain < 1 {
		panic("generator: scrambled zipfian over an empty range")
	}
	return &YCSBScrambled{z: z, domain: domain}
}

// Next implements Chooser.
func (s *YCSBScrambled) Next(r *rand.Rand, limit int64) int64 {
	if limit < 1 {
		panic("generator: choice over no items")
	}
	for {
		h := int64(FNVHash64(uint64(s.z.Next(r, YCSBItemCount))))
		if h < 0 {
			h = -h // Math.abs; math.MinInt64 stays negative, as in Java
		}
		if v := h % s.domain; v >= 0 && v < limit {
			return v
		}
	}
}

// FNVHash64 is FNV-1a 64 over the eight little-endian bytes of v, as YCSB's
// Utils.fnvhash64 computes it before taking the absolute value.
func FNVHash64(v uint64) uint64 {
	h := uint64(14695981039346656037)
	for range 8 {
		h ^= v & 0xff
		h *= 1099511628211
		v >>= 8
	}
	return h
}

var _ Chooser = (*YCSBScrambled)(nil)
