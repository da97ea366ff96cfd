package swim

import (
	"cmp"
	"math"
	"slices"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// queue holds the updates waiting to be piggybacked, at most one per
// member (a newer update about a member replaces the older: the newer
// overrides it anyway). Each is sent up to a limit of times, least-sent
// first, newest first among equals, so fresh news spreads first and old
// news stops once it has had enough chances.
type queue struct {
	items []*pending
	next  uint64 // order of the next item
}

type pending struct {
	u     Update
	sent  int
	order uint64
}

// retransmits returns the limit for a group of n members: mult ×
// ceil(log10(n+1)), enough for an epidemic to reach every member with high
// probability.
func retransmits(mult, n int) int {
	return mult * int(math.Ceil(math.Log10(float64(n+1))))
}

// push queues u, replacing any update about the same member.
func (q *queue) push(u Update) {
	q.drop(u.Node)
	q.items = append(q.items, &pending{u: u, order: q.next})
	q.next++
}

// drop removes any update about id.
func (q *queue) drop(id ring.NodeID) {
	q.items = slices.DeleteFunc(q.items, func(p *pending) bool { return p.u.Node == id })
}

func (q *queue) empty() bool { return len(q.items) == 0 }

// take appends to dst up to room updates, skipping any about skip, counts
// them sent and drops those sent limit times.
func (q *queue) take(dst []Update, room, limit int, skip ring.NodeID) []Update {
	if room <= 0 || len(q.items) == 0 {
		return dst
	}
	slices.SortFunc(q.items, func(a, b *pending) int {
		if c := cmp.Compare(a.sent, b.sent); c != 0 {
			return c
		}
		return cmp.Compare(b.order, a.order)
	})
	for _, p := range q.items {
		if room == 0 {
			break
		}
		if p.u.Node == skip {
			continue
		}
		dst = append(dst, p.u)
		p.sent++
		room--
	}
	q.items = slices.DeleteFunc(q.items, func(p *pending) bool { return p.sent >= limit })
	return dst
}
