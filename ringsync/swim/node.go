package swim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Node is one member's failure detector. Create it with New; it is not safe
// for concurrent use.
//
// The shell's contract: call Tick at Deadline (or more often: a Tick with
// nothing due does nothing) and Receive for every message that arrives,
// send every Out returned, best-effort, and read Events after each call. A
// message that arrived before a Tick is best delivered before it, or a slow
// shell sees its own late acks as failures (local health awareness then
// stretches its timeouts: see awareness.go).
type Node struct {
	cfg  Config
	rng  *rand.Rand
	self ring.NodeID
	inc  uint64
	left bool

	members map[ring.NodeID]*member // every member but self
	round   []ring.NodeID           // the probe order of this round
	next    int                     // index in round of the next target
	probe   *probe                  // the probe in progress, if any
	relays  map[uint64]*relay       // pings sent for others' ping-reqs
	seq     uint64
	aware   awareness
	queue   queue
	events  []Event
	urgent  bool // a refutation waits to be gossiped at once

	nextProbe, nextGossip time.Time
}

// Event is a change in what this node believes of a member.
type Event struct {
	Node        ring.NodeID
	Incarnation uint64
	From, To    State // From is zero for a member first heard of
	At          time.Time
	// By is the member whose word made the change: the suspecter of a
	// suspicion (this node, when its own probe failed), the declarer of a
	// death, the member itself for alive and left.
	By ring.NodeID
}

// Errors of New.
var (
	ErrSelf = errors.New("swim: empty node id")
	ErrRand = errors.New("swim: nil random source")
)

// New returns the detector of member self at now, knowing no other member
// yet (see Add), at incarnation 0. It announces self as alive to the
// members it learns of. rng is the node's only randomness; the Node keeps
// it.
func New(cfg Config, self ring.NodeID, now time.Time, rng *rand.Rand) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if self == "" || len(self) > ring.MaxIDLen {
		return nil, fmt.Errorf("%w (%d bytes)", ErrSelf, len(self))
	}
	if rng == nil {
		return nil, ErrRand
	}
	cfg = cfg.withDefaults()
	n := &Node{cfg: cfg, rng: rng, self: self, members: make(map[ring.NodeID]*member),
		relays: make(map[uint64]*relay), aware: awareness{max: cfg.AwarenessMax}}
	// Spread the first probe over one period so that nodes started together
	// do not probe in lockstep.
	n.nextProbe = now.Add(time.Duration(rng.Int64N(int64(cfg.ProbeInterval))))
	n.nextGossip = now.Add(cfg.GossipInterval)
	n.queue.push(n.selfUpdate())
	return n, nil
}

// Self returns this node's id.
func (n *Node) Self() ring.NodeID { return n.self }

// Incarnation returns this node's own incarnation.
func (n *Node) Incarnation() uint64 { return n.inc }

// Health returns the local-health multiplier in force, 1 (healthy) to
// Config.AwarenessMax.
func (n *Node) Health() int { return n.aware.factor() }

func (n *Node) selfUpdate() Update {
	st := Alive
	if n.left {
		st = Left
	}
	return Update{Node: n.self, Incarnation: n.inc, State: st, From: n.self}
}

// Add makes ids known as members, alive at incarnation 0 (their own gossip
// brings their real incarnations), at now. Ids already known and self are
// skipped. Each new member is put at a random place in what remains of the
// current probe round, so it is probed within this round or the next.
func (n *Node) Add(now time.Time, ids ...ring.NodeID) {
	for _, id := range ids {
		if id == n.self || id == "" || n.members[id] != nil {
			continue
		}
		n.learn(now, Update{Node: id, State: Alive, From: id})
	}
}

// learn records a member first heard of through u (not about self).
func (n *Node) learn(now time.Time, u Update) {
	m := &member{id: u.Node, inc: u.Incarnation, state: u.State, since: now}
	n.members[u.Node] = m
	if u.State == Suspect {
		m.susp = n.newSuspicion(u.From, now)
	}
	if m.probeable() {
		n.enlist(u.Node)
	}
	n.events = append(n.events, Event{Node: u.Node, Incarnation: u.Incarnation, To: u.State, At: now, By: u.From})
}

// Forget drops id from this node's view (the cluster removed it for good):
// it is no longer probed, and news of it is learned afresh. Forgetting
// self, or an unknown id, does nothing.
func (n *Node) Forget(id ring.NodeID) {
	if n.members[id] == nil {
		return
	}
	delete(n.members, id)
	if n.probe != nil && n.probe.target == id {
		n.probe = nil
	}
	n.queue.drop(id)
}

// Members returns every member this node knows, itself included, sorted by
// id. The slice is the caller's.
func (n *Node) Members() []Member {
	out := make([]Member, 0, len(n.members)+1)
	st := Alive
	if n.left {
		st = Left
	}
	out = append(out, Member{ID: n.self, Incarnation: n.inc, State: st})
	for _, m := range n.members {
		out = append(out, Member{ID: m.id, Incarnation: m.inc, State: m.state, Since: m.since})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// Member returns what this node believes of id, and whether it knows id.
func (n *Node) Member(id ring.NodeID) (Member, bool) {
	m := n.members[id]
	if m == nil {
		return Member{}, false
	}
	return Member{ID: m.id, Incarnation: m.inc, State: m.state, Since: m.since}, true
}

// Events returns the state changes since the previous call, in order. The
// slice is the caller's.
func (n *Node) Events() []Event {
	ev := n.events
	n.events = nil
	return ev
}

// live returns the number of members not dead or left, self included: the
// n of the suspicion and retransmit formulas.
func (n *Node) live() int {
	c := 1
	for _, m := range n.members {
		if m.probeable() {
			c++
		}
	}
	return c
}

// sortedIDs returns the ids of the members for which keep is true, sorted.
func (n *Node) sortedIDs(keep func(*member) bool) []ring.NodeID {
	var ids []ring.NodeID
	for id, m := range n.members {
		if keep(m) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Leave marks this node as leaving at now: it raises its incarnation, stops
// probing, and tells every member it knows alive (the returned messages);
// Tick goes on passing the news on. Leaving is final for this Node.
func (n *Node) Leave(now time.Time) []Out {
	if n.left {
		return nil
	}
	n.left = true
	n.inc++
	n.probe = nil
	n.queue.push(n.selfUpdate())
	var out []Out
	for _, id := range n.sortedIDs((*member).probeable) {
		out = append(out, Out{To: id, Msg: Msg{Kind: KindGossip, Updates: []Update{n.selfUpdate()}}})
	}
	return out
}

// Deadline returns when Tick next has something to do, or the zero time
// when nothing ever will (a node that left, with nothing left to pass on).
// The shell may call Tick earlier, or later at the price of slower
// detection.
func (n *Node) Deadline() time.Time {
	var d time.Time
	at := func(t time.Time) {
		if d.IsZero() || t.Before(d) {
			d = t
		}
	}
	if !n.left && n.probe == nil {
		at(n.nextProbe)
	}
	if p := n.probe; p != nil {
		if !p.acked && !p.indirect {
			at(p.timeout)
		}
		at(p.end)
	}
	for _, m := range n.members {
		if m.susp != nil {
			at(m.susp.deadline(n.aware.factor()))
		}
	}
	for _, r := range n.relays {
		at(r.nackAt)
	}
	if !n.queue.empty() {
		at(n.nextGossip)
	}
	return d
}

// Tick does what is due at now: probe steps, suspicion expiry, nacks for
// ping-reqs unanswered, gossip. It returns the messages to send.
func (n *Node) Tick(now time.Time) []Out {
	var out []Out
	out = n.tickProbe(now, out)
	n.tickSuspicions(now)
	out = n.tickRelays(now, out)
	return n.tickGossip(now, out)
}

// tickSuspicions declares dead every suspect whose suspicion expired.
func (n *Node) tickSuspicions(now time.Time) {
	f := n.aware.factor()
	for _, id := range n.sortedIDs(func(m *member) bool { return m.susp != nil && !now.Before(m.susp.deadline(f)) }) {
		m := n.members[id]
		n.set(now, m, m.inc, Dead, n.self)
		n.queue.push(Update{Node: id, Incarnation: m.inc, State: Dead, From: n.self})
	}
}

// tickGossip sends the pending updates to up to GossipNodes random members
// not dead, once per GossipInterval.
func (n *Node) tickGossip(now time.Time, out []Out) []Out {
	if now.Before(n.nextGossip) {
		return out
	}
	n.nextGossip = now.Add(n.cfg.GossipInterval)
	return n.gossip(out)
}

// gossip sends the pending updates to up to GossipNodes random members not
// dead.
func (n *Node) gossip(out []Out) []Out {
	if n.queue.empty() {
		return out
	}
	ids := n.sortedIDs((*member).probeable)
	n.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, id := range ids[:min(len(ids), n.cfg.GossipNodes)] {
		if ups := n.piggyback(id); len(ups) > 0 {
			out = append(out, Out{To: id, Msg: Msg{Kind: KindGossip, Updates: ups}})
		}
	}
	return out
}

// piggyback returns the updates for a message to to: first, if to is
// suspect, dead or left here, that news (the buddy system: a suspect learns
// of it at once and refutes; a member declared dead or left that is in fact
// running learns it must refute), then the queue's most urgent.
func (n *Node) piggyback(to ring.NodeID) []Update {
	ups := make([]Update, 0, n.cfg.MaxPiggyback)
	if m := n.members[to]; m != nil && m.state != Alive {
		from := n.self
		if m.susp != nil {
			from = m.susp.first
		}
		ups = append(ups, Update{Node: to, Incarnation: m.inc, State: m.state, From: from})
	}
	return n.queue.take(ups, n.cfg.MaxPiggyback-len(ups), retransmits(n.cfg.RetransmitMult, n.live()), to)
}

// set moves m to state s at incarnation inc on by's word, recording the
// event.
func (n *Node) set(now time.Time, m *member, inc uint64, s State, by ring.NodeID) {
	prev := m.state
	wasProbeable := m.probeable()
	m.inc = inc
	if s != Suspect {
		m.susp = nil
	}
	if s == prev {
		return
	}
	m.state, m.since = s, now
	n.events = append(n.events, Event{Node: m.id, Incarnation: inc, From: prev, To: s, At: now, By: by})
	if m.probeable() && !wasProbeable {
		n.enlist(m.id)
	}
}

func (n *Node) newSuspicion(from ring.NodeID, now time.Time) *suspicion {
	k, lo, hi := suspicionBounds(n.cfg, n.live())
	return newSuspicion(from, now, k, lo, hi)
}

// suspect marks m suspect at incarnation inc on from's word.
func (n *Node) suspect(now time.Time, m *member, inc uint64, from ring.NodeID) {
	n.set(now, m, inc, Suspect, from)
	m.susp = n.newSuspicion(from, now)
	n.queue.push(Update{Node: m.id, Incarnation: inc, State: Suspect, From: from})
}
