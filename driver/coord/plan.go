package coord

import "github.com/shoalkv/shoal/ringsync/ring"

// Target is one replica slot of a request: the node asked and, when it
// stands in for a primary, the primary it holds the copy for (a hint).
type Target struct {
	Node    ring.Node
	HintFor ring.NodeID // "" when Node is itself a primary (or a read's spare)
	// Spare marks a fallback a read asks beyond the slots: neither a
	// primary nor a stand-in, it answers with the hints it may hold.
	Spare bool
}

// Primary reports whether the target is the key's own replica.
func (t Target) Primary() bool { return t.HintFor == "" && !t.Spare }

// Owner is the primary the slot serves: the node itself or the one it
// stands in for.
func (t Target) Owner() ring.NodeID {
	if t.HintFor != "" {
		return t.HintFor
	}
	return t.Node.ID
}

// Plan is the sloppy quorum of one request (paper §4.6): the N slots of the
// key's primaries, and the fallbacks not yet used, which replace a slot's
// node when it is believed down or fails during the request. A Plan belongs
// to the one machine given it (NewWrite, NewRead), which changes it as the
// request goes; it needs no lock because only that machine's owner
// touches it.
type Plan struct {
	slots  []Target
	nUp    int         // slots[:nUp] held nodes believed up when planned
	spares []ring.Node // unused fallbacks, believed-up first, in walk order
	// replaced are the primaries believed down whose slots went to
	// stand-ins: a read that needs primaries asks them as a last chance.
	replaced []ring.Node
}

// NewPlan fills each primary's slot with the primary when it is believed up
// and otherwise with the next fallback believed up (a hinted stand-in). A
// primary believed down keeps its slot when no fallback believed up is left:
// asking it is a last chance, not a certain failure. Slots with nodes
// believed up come first, each group in preference order; so do spares. up
// is the failure detector's belief, asked once per node. The plan keeps no
// reference to primaries or fallbacks.
func NewPlan(primaries, fallbacks []ring.Node, up func(ring.NodeID) bool) *Plan {
	p := &Plan{spares: make([]ring.Node, 0, len(fallbacks))}
	var downSpares []ring.Node
	for _, f := range fallbacks {
		if up(f.ID) {
			p.spares = append(p.spares, f)
		} else {
			downSpares = append(downSpares, f)
		}
	}
	p.slots = make([]Target, 0, len(primaries))
	var downSlots []Target
	for _, n := range primaries {
		switch {
		case up(n.ID):
			p.slots = append(p.slots, Target{Node: n})
		case len(p.spares) > 0:
			p.slots = append(p.slots, Target{Node: p.spares[0], HintFor: n.ID})
			p.spares = p.spares[1:]
			p.replaced = append(p.replaced, n)
		default:
			downSlots = append(downSlots, Target{Node: n})
		}
	}
	p.nUp = len(p.slots)
	p.slots = append(p.slots, downSlots...)
	p.spares = append(p.spares, downSpares...)
	return p
}

// Len is the number of slots: N, or fewer on a ring with fewer members.
func (p *Plan) Len() int { return len(p.slots) }

// slot returns slot i's current target.
func (p *Plan) slot(i int) Target { return p.slots[i] }

// replace gives slot i the next spare, holding a hint for the slot's owner,
// and returns the new target; ok is false when no spare is left.
func (p *Plan) replace(i int) (t Target, ok bool) {
	if len(p.spares) == 0 {
		return Target{}, false
	}
	t = Target{Node: p.spares[0], HintFor: p.slots[i].Owner()}
	p.spares = p.spares[1:]
	p.slots[i] = t
	return t, true
}

// believedDown reports whether slot i was planned with a primary believed
// down, for want of a fallback believed up to stand in (NewPlan).
func (p *Plan) believedDown(i int) bool { return i >= p.nUp }

// hintAt returns the target of a hint for slot i's owner kept at node at
// (a live node that holds the write already: see Write, step 6); ok is
// false when at is that owner, which cannot hold a hint for itself.
func (p *Plan) hintAt(i int, at ring.Node) (t Target, ok bool) {
	owner := p.slots[i].Owner()
	if at.ID == owner {
		return Target{}, false
	}
	return Target{Node: at, HintFor: owner}, true
}

// coordinationOrder lists the slot indexes to try as coordinator: the
// primaries believed up, then the hinted stand-ins, each in slot order, then
// the primaries believed down (a last chance). A write coordinated at a
// stand-in assigns its dot under an actor minted for the hint record
// (storaged/hint.MintEpoch), an entry the key's version vector then carries
// for good; so a stand-in coordinates only when no live primary would.
func (p *Plan) coordinationOrder() []int {
	order := make([]int, 0, len(p.slots))
	for i, t := range p.slots[:p.nUp] {
		if t.Primary() {
			order = append(order, i)
		}
	}
	for i, t := range p.slots[:p.nUp] {
		if !t.Primary() {
			order = append(order, i)
		}
	}
	for i := p.nUp; i < len(p.slots); i++ {
		order = append(order, i)
	}
	return order
}

// readCandidates lists whom a read may ask, in order: the slots, the spares
// (as spare targets, see takeSpare), then the primaries believed down whose
// slots went to stand-ins (a belief can be stale; without them a read
// needing every primary could not succeed until a probe revived one). It
// takes the spares out of the plan.
func (p *Plan) readCandidates() []Target {
	cands := make([]Target, len(p.slots), len(p.slots)+len(p.spares)+len(p.replaced))
	copy(cands, p.slots)
	for {
		t, ok := p.takeSpare()
		if !ok {
			break
		}
		cands = append(cands, t)
	}
	for _, n := range p.replaced {
		cands = append(cands, Target{Node: n})
	}
	return cands
}

// takeSpare removes and returns the next spare as a spare target (for
// reads: it counts toward R but not PR, and gets no read repair); ok is
// false when none is left.
func (p *Plan) takeSpare() (Target, bool) {
	if len(p.spares) == 0 {
		return Target{}, false
	}
	t := Target{Node: p.spares[0], Spare: true}
	p.spares = p.spares[1:]
	return t, true
}
