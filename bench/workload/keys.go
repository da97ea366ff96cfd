package workload

import (
	"strconv"

	"github.com/shoalkv/shoal/bench/generator"
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
	return strconv.AppendUint(b, generator.FNVHash64(uint64(item))&(1<<63-1), 10)
}
