package workload

import (
	"strconv"
)

// KeyPrefix starts every record key, as in YCSB.
const KeyPrefix = "user"

// Key returns the key of record item: "user" followed by the record number,
// hashed (insertorder=hashed, YCSB's default: FNV-1a 64 over the number's
// eight little-endian bytes, sign bit cleared) or zero-padded to ZeroPadding
// digits (insertorder=ordered). The result is a new slice.
func (w Workload) Key(item int64) []byte {
	b := make([]byte, 0, len(KeyPrefix)+20)
	b = append(b, KeyPrefix...)
	if w.InsertOrder == Ordered {
		digits := strconv.AppendInt(nil, item, 10)
		for i := len(digits); i < w.ZeroPadding; i++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	return strconv.AppendUint(b, fnv64(uint64(item))&(1<<63-1), 10)
}

// fnv64 is FNV-1a 64 over the eight little-endian bytes of v.
func fnv64(v uint64) uint64 {
	h := uint64(14695981039346656037)
	for range 8 {
		h ^= v & 0xff
		h *= 1099511628211
		v >>= 8
	}
	return h
}
