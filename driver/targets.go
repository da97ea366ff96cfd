package driver

import (
	"slices"
	"sync"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// target is one replica slot of a request: the node asked and, when it
// stands in for a primary, the primary it holds the copy for (a hint).
type target struct {
	node    ring.Node
	hintFor ring.NodeID // "" when node is itself a primary
	// spare marks a fallback a read asks beyond the slots: neither a
	// primary nor a stand-in, it answers with the hints it may hold.
	spare bool
}

// primary reports whether the target is the key's own replica.
func (t target) primary() bool { return t.hintFor == "" && !t.spare }

// owner is the primary the slot serves: the node itself or the one it
// stands in for.
func (t target) owner() ring.NodeID {
	if t.hintFor != "" {
		return t.hintFor
	}
	return t.node.ID
}

// plan is the sloppy quorum of one request (paper §4.6): the N slots of the
// key's primaries, and the fallbacks not yet used, which replace a slot's
// node when it is believed down or fails during the request. Safe for
// concurrent use by the request's goroutines.
type plan struct {
	mu     sync.Mutex
	slots  []target
	nUp    int         // slots[:nUp] held nodes believed up when planned
	spares []ring.Node // unused fallbacks, believed-up first, in walk order
	// replaced are the primaries believed down whose slots went to
	// stand-ins: a read that needs primaries asks them as a last chance.
	replaced []ring.Node
}

// newPlan fills each primary's slot with the primary when it is believed up
// and otherwise with the next fallback believed up (a hinted stand-in). A
// primary believed down keeps its slot when no fallback believed up is left:
// asking it is a last chance, not a certain failure. Slots with nodes
// believed up come first, each group in preference order; so do spares. up
// is the failure detector's belief.
func newPlan(primaries, fallbacks []ring.Node, up func(ring.NodeID) bool) *plan {
	p := &plan{spares: make([]ring.Node, 0, len(fallbacks))}
	var downSpares []ring.Node
	for _, f := range fallbacks {
		if up(f.ID) {
			p.spares = append(p.spares, f)
		} else {
			downSpares = append(downSpares, f)
		}
	}
	var upSlots, downSlots []target
	for _, n := range primaries {
		switch {
		case up(n.ID):
			upSlots = append(upSlots, target{node: n})
		case len(p.spares) > 0:
			upSlots = append(upSlots, target{node: p.spares[0], hintFor: n.ID})
			p.spares = p.spares[1:]
			p.replaced = append(p.replaced, n)
		default:
			downSlots = append(downSlots, target{node: n})
		}
	}
	p.nUp = len(upSlots)
	p.slots = append(upSlots, downSlots...)
	p.spares = append(p.spares, downSpares...)
	return p
}

// replace gives slot i the next spare, holding a hint for the slot's owner,
// and returns the new target; ok is false when no spare is left.
func (p *plan) replace(i int) (t target, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.spares) == 0 {
		return target{}, false
	}
	t = target{node: p.spares[0], hintFor: p.slots[i].owner()}
	p.spares = p.spares[1:]
	p.slots[i] = t
	return t, true
}

// coordinationOrder lists the slot indexes to try as coordinator: the
// primaries believed up, then the hinted stand-ins, each in slot order, then
// the primaries believed down (a last chance). A write coordinated at a
// stand-in assigns its dot under an actor minted for the hint record
// (storaged/hint.MintEpoch), an entry the key's version vector then carries
// for good; so a stand-in coordinates only when no live primary would.
func (p *plan) coordinationOrder() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	order := make([]int, 0, len(p.slots))
	for i, t := range p.slots[:p.nUp] {
		if t.primary() {
			order = append(order, i)
		}
	}
	for i, t := range p.slots[:p.nUp] {
		if !t.primary() {
			order = append(order, i)
		}
	}
	for i := p.nUp; i < len(p.slots); i++ {
		order = append(order, i)
	}
	return order
}

// slot returns slot i's current target.
func (p *plan) slot(i int) target {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.slots[i]
}

// readCandidates lists whom a read may ask, in order: the slots, the spares
// (as spare targets, see takeSpare), then the primaries believed down whose
// slots went to stand-ins (a belief can be stale; without them a read
// needing every primary could not succeed until a probe revived one). It
// takes the spares out of the plan.
func (p *plan) readCandidates() []target {
	cands := slices.Clone(p.slots)
	for {
		t, ok := p.takeSpare()
		if !ok {
			break
		}
		cands = append(cands, t)
	}
	for _, n := range p.replaced {
		cands = append(cands, target{node: n})
	}
	return cands
}

// takeSpare removes and returns the next spare as a spare target (for
// reads: it counts toward R but not PR, and gets no read repair); ok is
// false when none is left.
func (p *plan) takeSpare() (target, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.spares) == 0 {
		return target{}, false
	}
	t := target{node: p.spares[0], spare: true}
	p.spares = p.spares[1:]
	return t, true
}
