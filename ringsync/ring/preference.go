package ring

// walkCacheBudget bounds the memory the lazy walk-order cache may use, in
// bytes (2 per node per partition): 16 MiB covers 4096 partitions with up to
// 2048 nodes. Larger rings compute each walk on demand.
const walkCacheBudget = 16 << 20

// Preference returns the preference list of key (Dynamo §4.3): walking the
// partitions clockwise from key's partition, the first min(n, members)
// distinct owners are its primaries, and every other member, in the order the
// walk meets them, is a fallback for sloppy quorum and hinted handoff (§4.6).
// Every member appears exactly once across the two slices. n < 0 counts as 0.
//
// The two slices share one freshly allocated array that the caller owns;
// primaries has no spare capacity, so appending to it does not overwrite
// fallbacks.
func (r *Ring) Preference(key []byte, n int) (primaries, fallbacks []Node) {
	return r.PreferenceOf(r.PartitionOf(key), n)
}

// PreferenceOf is [Ring.Preference] for partition p. It panics unless
// 0 <= p < Partitions().
func (r *Ring) PreferenceOf(p, n int) (primaries, fallbacks []Node) {
	list := r.AppendWalk(make([]Node, 0, len(r.nodes)), p)
	k := min(max(n, 0), len(list))
	return list[:k:k], list[k:]
}

// AppendWalk appends every member to dst in the order a clockwise walk from
// partition p meets them, and returns the extended slice: the preference list
// of p, whose first N entries are its primaries. It lets a hot path reuse one
// buffer: with room in dst it does not allocate. It panics unless
// 0 <= p < Partitions().
func (r *Ring) AppendWalk(dst []Node, p int) []Node {
	r.checkPartition(p)
	for _, idx := range r.walk(p) {
		dst = append(dst, r.nodes[idx])
	}
	return dst
}

// walk returns every member's index in the order a walk from p meets them.
// Walks are computed once per partition and cached when the ring is small
// enough; the result is shared and must not be modified.
func (r *Ring) walk(p int) []uint16 {
	if r.walks == nil {
		return r.computeWalk(p)
	}
	if w := r.walks[p].Load(); w != nil {
		return *w
	}
	w := r.computeWalk(p)
	r.walks[p].Store(&w) // a racing store holds the same walk
	return w
}

// computeWalk walks clockwise from p collecting distinct owners. Every member
// owns a partition, so one turn of the ring meets them all.
func (r *Ring) computeWalk(p int) []uint16 {
	n, mask := len(r.nodes), len(r.owners)-1
	walk := make([]uint16, 0, n)
	var seen [MaxNodes / 64]uint64
	for i := 0; i < len(r.owners) && len(walk) < n; i++ {
		o := r.owners[(p+i)&mask]
		if seen[o/64]&(1<<(o%64)) == 0 {
			seen[o/64] |= 1 << (o % 64)
			walk = append(walk, o)
		}
	}
	if len(walk) != n {
		panic("ring: a member owns no partition")
	}
	return walk
}
