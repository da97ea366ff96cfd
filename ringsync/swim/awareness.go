package swim

import "time"

// awareness is Lifeguard's local health: a score in [0, max−1], raised by
// evidence that this node, not the others, is in trouble, and lowered by
// prompt acks. Every probe period and timeout is multiplied by score+1, so
// a node starved of CPU or network stretches its waits instead of
// suspecting members that answered in time but were heard late.
//
// The evidence (node.go): a probe whose ping-reqs got neither ack nor nack
// back (+1 per missing answer: the relays are alive, so the silence is
// ours); a probe period that ended before this node ran to send its
// ping-reqs (+1); a suspicion of this node (+1). A direct ack within the
// probe timeout counts −1.
type awareness struct {
	score, max int
}

func (a *awareness) apply(delta int) {
	a.score = min(max(a.score+delta, 0), a.max-1)
}

// factor is the multiplier in force, 1 to max.
func (a *awareness) factor() int { return a.score + 1 }

func (a *awareness) scale(d time.Duration) time.Duration {
	return time.Duration(a.factor()) * d
}

// enabled reports whether local health awareness is on (AwarenessMax > 1).
func (a *awareness) enabled() bool { return a.max > 1 }
