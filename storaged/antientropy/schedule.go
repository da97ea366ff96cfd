package antientropy

import (
	"math/bits"
	"time"
)

// Order returns the partitions of a scheduled cycle in the order the index-th
// of members nodes (members sorted by id, say) takes them: parts rotated to
// start index/members of the way along. Nodes that start together then
// reach a pair they share at different moments, so the first to reach it
// compares it and the other skips it (Skips, rule (C)) rather than both
// comparing it at once. The result is a new slice; parts is not changed. An
// index outside [0, members) counts as 0.
func Order(parts []int, index, members int) []int {
	out := make([]int, 0, len(parts))
	at := 0
	if index > 0 && index < members {
		at = len(parts) * index / members
	}
	out = append(out, parts[at:]...)
	return append(out, parts[:at]...)
}

// PaceAt returns when a cycle that began at start and spreads n partitions
// evenly over over may begin its i-th (from 0): start + over·i/n, rounded
// down to the nanosecond. A cycle that waits for it costs the same round
// trips as one that runs them back to back, spread over the interval
// instead of in a burst. i ≤ 0, n ≤ 0 or over ≤ 0 give start; an instant
// past what a Duration holds (i far beyond n) gives start + over.
func PaceAt(start time.Time, over time.Duration, i, n int) time.Time {
	if n <= 0 || i <= 0 || over <= 0 {
		return start
	}
	hi, lo := bits.Mul64(uint64(over), uint64(i))
	if hi >= uint64(n) { // past what a Duration holds: i far beyond n
		return start.Add(over)
	}
	q, _ := bits.Div64(hi, lo, uint64(n))
	return start.Add(time.Duration(q))
}
