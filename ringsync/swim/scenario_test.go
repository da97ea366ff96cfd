package swim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Scripted scenarios: time is stepped by hand and messages are carried (or
// dropped) by the test.

const ms = time.Millisecond

// group is a few nodes whose messages the test carries.
type group struct {
	t     *testing.T
	now   time.Time
	nodes map[ring.NodeID]*Node
	// outbox holds the messages sent and not yet carried.
	outbox []sent
}

type sent struct {
	from ring.NodeID
	Out
}

func newGroup(t *testing.T, cfg Config, ids ...ring.NodeID) *group {
	t.Helper()
	g := &group{t: t, now: t0, nodes: map[ring.NodeID]*Node{}}
	for i, id := range ids {
		n, err := New(cfg, id, t0, rand.New(rand.NewPCG(7, uint64(i))))
		if err != nil {
			t.Fatal(err)
		}
		n.Add(t0, ids...)
		g.nodes[id] = n
	}
	return g
}

// at moves the clock to t0+d and ticks every node (in id order).
func (g *group) at(d time.Duration) {
	g.now = t0.Add(d)
	ids := make([]ring.NodeID, 0, len(g.nodes))
	for id := range g.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		g.keep(id, g.nodes[id].Tick(g.now))
	}
}

func (g *group) keep(from ring.NodeID, outs []Out) {
	for _, o := range outs {
		g.outbox = append(g.outbox, sent{from: from, Out: o})
	}
}

// take removes and returns the sent messages matching kind (0: any), from
// and to ("" for any).
func (g *group) take(kind Kind, from, to ring.NodeID) []sent {
	var got, rest []sent
	for _, s := range g.outbox {
		if (kind == 0 || s.Msg.Kind == kind) && (from == "" || s.from == from) && (to == "" || s.To == to) {
			got = append(got, s)
		} else {
			rest = append(rest, s)
		}
	}
	g.outbox = rest
	return got
}

// carry delivers the given messages now, keeping their answers.
func (g *group) carry(ms []sent) {
	for _, s := range ms {
		if n := g.nodes[s.To]; n != nil {
			g.keep(s.To, n.Receive(g.now, s.from, s.Msg))
		}
	}
}

// settle carries every message (and the answers) until none is left,
// except those to or from the nodes in cut.
func (g *group) settle(cut ...ring.NodeID) {
	for range 100 {
		var ms []sent
		for _, s := range g.take(0, "", "") {
			if !slices.Contains(cut, s.To) && !slices.Contains(cut, s.from) {
				ms = append(ms, s)
			}
		}
		if len(ms) == 0 {
			return
		}
		g.carry(ms)
	}
	g.t.Fatal("messages never settled")
}

// run ticks every node each step from from to to (inclusive), carrying
// every message but those to or from cut after each step.
func (g *group) run(from, to, step time.Duration, cut ...ring.NodeID) {
	for d := from; d <= to; d += step {
		g.at(d)
		g.settle(cut...)
	}
}

func (g *group) state(of, about ring.NodeID) State {
	m, ok := g.nodes[of].Member(about)
	if !ok {
		g.t.Fatalf("%s does not know %s", of, about)
	}
	return m.State
}

// firstProbe returns the time of n's first probe (New spreads it over one
// period).
func firstProbe(n *Node) time.Duration { return n.nextProbe.Sub(t0) }

func TestPingAck(t *testing.T) {
	g := newGroup(t, Config{}, "a", "b")
	a := g.nodes["a"]
	g.at(firstProbe(a))
	pings := g.take(KindPing, "a", "b")
	if len(pings) != 1 || pings[0].Msg.Target != "b" || pings[0].Msg.Seq == 0 {
		t.Fatalf("a's first probe: %+v", pings)
	}
	g.carry(pings)
	acks := g.take(KindAck, "b", "a")
	if len(acks) != 1 || acks[0].Msg.Seq != pings[0].Msg.Seq {
		t.Fatalf("b's answer: %+v", acks)
	}
	g.carry(acks)
	if !a.probe.acked {
		t.Fatal("the ack did not complete a's probe")
	}
	// Past the probe timeout and the period's end nothing more is sent, and
	// b stays alive.
	g.at(firstProbe(a) + DefaultProbeTimeout)
	if got := g.take(KindPingReq, "a", ""); len(got) != 0 {
		t.Fatalf("ping-req after an ack: %+v", got)
	}
	g.at(firstProbe(a) + DefaultProbeInterval - ms)
	if g.state("a", "b") != Alive {
		t.Fatal("b not alive after acking")
	}
}

func TestAckWithWrongSeqIgnored(t *testing.T) {
	g := newGroup(t, Config{}, "a", "b")
	a := g.nodes["a"]
	g.at(firstProbe(a))
	p := g.take(KindPing, "a", "b")[0]
	a.Receive(g.now, "b", Msg{Kind: KindAck, Seq: p.Msg.Seq + 1})
	if a.probe.acked {
		t.Fatal("an ack of another sequence number completed the probe")
	}
}

func TestIndirectProbeSucceeds(t *testing.T) {
	g := newGroup(t, Config{}, "a", "b", "c", "d")
	a := g.nodes["a"]
	start := firstProbe(a)
	g.at(start)
	ping := g.take(KindPing, "a", "")[0]
	target := ping.To // lost: a hears nothing directly
	g.at(start + DefaultProbeTimeout)
	reqs := g.take(KindPingReq, "a", "")
	if len(reqs) != DefaultIndirectChecks {
		t.Fatalf("%d ping-reqs, want %d", len(reqs), DefaultIndirectChecks)
	}
	for _, r := range reqs {
		if r.Msg.Target != target || r.To == target || r.Msg.Seq != ping.Msg.Seq {
			t.Fatalf("bad ping-req %+v (target %s)", r, target)
		}
	}
	g.take(0, "", "") // drop whatever else the ticks sent
	g.carry(reqs[:1])
	relayed := g.take(KindPing, reqs[0].To, target)
	if len(relayed) != 1 {
		t.Fatalf("relay did not ping the target: %+v", g.outbox)
	}
	g.carry(relayed)
	g.carry(g.take(KindAck, target, reqs[0].To))
	fwd := g.take(KindAck, reqs[0].To, "a")
	if len(fwd) != 1 || fwd[0].Msg.Seq != ping.Msg.Seq {
		t.Fatalf("relay did not pass the ack on under a's sequence number: %+v", fwd)
	}
	g.carry(fwd)
	g.at(start + DefaultProbeInterval)
	if s := g.state("a", target); s != Alive {
		t.Fatalf("target %v after an indirect ack", s)
	}
	// An indirect ack is not evidence of local health either way.
	if a.Health() != 1 {
		t.Fatalf("health %d", a.Health())
	}
}

func TestRelayNacksWhenTargetSilent(t *testing.T) {
	g := newGroup(t, Config{}, "a", "b", "c")
	b := g.nodes["b"]
	g.keep("a", nil)
	out := b.Receive(t0, "a", Msg{Kind: KindPingReq, Seq: 42, Target: "c"})
	if len(out) != 1 || out[0].To != "c" || out[0].Msg.Kind != KindPing {
		t.Fatalf("relay sent %+v", out)
	}
	if got := b.Tick(t0.Add(DefaultProbeTimeout - ms)); slices.ContainsFunc(got, func(o Out) bool { return o.Msg.Kind == KindNack }) {
		t.Fatal("nack before the probe timeout")
	}
	got := b.Tick(t0.Add(DefaultProbeTimeout))
	if !slices.ContainsFunc(got, func(o Out) bool { return o.Msg.Kind == KindNack && o.To == "a" && o.Msg.Seq == 42 }) {
		t.Fatalf("no nack to a: %+v", got)
	}
}

// suspectB runs a's first probe of b with every message to and from b
// lost, and returns when a suspected it.
func suspectB(t *testing.T, g *group) time.Duration {
	t.Helper()
	a := g.nodes["a"]
	start := firstProbe(a)
	// a's probe order is random: step probe periods until a probes b.
	for range 10 {
		g.at(start)
		if a.probe != nil && a.probe.target == "b" {
			break
		}
		g.settle("b")
		start += DefaultProbeInterval
	}
	if a.probe == nil || a.probe.target != "b" {
		t.Fatal("a never probed b")
	}
	g.settle("b")
	g.at(start + DefaultProbeTimeout)
	g.settle("b")
	g.at(start + 2*DefaultProbeTimeout) // the relays nack
	g.settle("b")
	g.at(start + DefaultProbeInterval)
	if s := g.state("a", "b"); s != Suspect {
		t.Fatalf("b %v after an unanswered probe", s)
	}
	if a.Health() != 1 {
		t.Fatalf("health %d: the relays' nacks did not count", a.Health())
	}
	return start + DefaultProbeInterval
}

func TestSuspicionToDeadExactlyPerFormula(t *testing.T) {
	// Three members: k = SuspicionMult−2 = 2 > n−2 = 1, so no confirmations
	// are awaited and the timeout is the minimum from the start:
	// 4 × max(1, log10 3) × 250 ms = 1 s.
	g := newGroup(t, Config{}, "a", "b", "c")
	at := suspectB(t, g)
	want := 1000 * ms
	if k, lo, _ := suspicionBounds(g.nodes["a"].cfg, 3); k != 0 || lo != want {
		t.Fatalf("bounds at n=3: k=%d min=%v", k, lo)
	}
	a := g.nodes["a"]
	g.run(at+ms, at+want-ms, ms, "b")
	if s := g.state("a", "b"); s != Suspect {
		t.Fatalf("b %v 1 ms before the timeout", s)
	}
	a.Events()
	g.at(at + want)
	if s := g.state("a", "b"); s != Dead {
		t.Fatalf("b %v at the timeout", s)
	}
	ev := a.Events()
	last := ev[len(ev)-1]
	if last.Node != "b" || last.From != Suspect || last.To != Dead || last.By != "a" || !last.At.Equal(t0.Add(at+want)) {
		t.Fatalf("last event %+v", last)
	}
}

func TestSuspicionTimeoutFormula(t *testing.T) {
	// n = 10: min = 4 × 1 × 250 ms = 1 s, max 6 s, k = 2.
	k, lo, hi := suspicionBounds(Config{}.withDefaults(), 10)
	if k != 2 || lo != time.Second || hi != 6*time.Second {
		t.Fatalf("k=%d min=%v max=%v", k, lo, hi)
	}
	s := newSuspicion("x", t0, k, lo, hi)
	// max − (max−min)·log(c+1)/log(k+1): c=0 → 6 s; c=1 → 6 − 5·log2/log3
	// = 2.845 s (floored to the ms); c=2 → 1 s.
	for c, want := range []time.Duration{6000 * ms, 2845 * ms, 1000 * ms, 1000 * ms} {
		if got := s.timeout(c); got != want {
			t.Errorf("timeout(%d) = %v, want %v", c, got, want)
		}
	}
	// n = 100: min = 4 × 2 × 250 ms = 2 s.
	if _, lo, _ := suspicionBounds(Config{}.withDefaults(), 100); lo != 2*time.Second {
		t.Errorf("min at n=100 = %v", lo)
	}
}

func TestConfirmationsShortenTheTimeout(t *testing.T) {
	// Five members: k = 2. a suspects b alone: 6 s. c's and d's
	// independent suspicions bring it to 2.845 s, then 1 s.
	g := newGroup(t, Config{}, "a", "b", "c", "d", "e")
	at := suspectB(t, g)
	a := g.nodes["a"]
	inc := a.members["b"].inc
	dl := func() time.Duration { return a.members["b"].susp.deadline(a.aware.factor()).Sub(t0) }
	start := a.members["b"].susp.start.Sub(t0)
	if start != at || dl() != at+6*time.Second {
		t.Fatalf("lone suspicion: start %v deadline %v", start, dl())
	}
	a.Receive(t0.Add(at), "c", Msg{Kind: KindGossip, Updates: []Update{{Node: "b", Incarnation: inc, State: Suspect, From: "c"}}})
	if dl() != at+2845*ms {
		t.Fatalf("one confirmation: deadline %v", dl())
	}
	// The same confirmer twice, or a suspicion of an older incarnation,
	// counts nothing.
	a.Receive(t0.Add(at), "e", Msg{Kind: KindGossip, Updates: []Update{{Node: "b", Incarnation: inc, State: Suspect, From: "c"}}})
	if dl() != at+2845*ms {
		t.Fatalf("a repeated confirmer counted: deadline %v", dl())
	}
	a.Receive(t0.Add(at), "d", Msg{Kind: KindGossip, Updates: []Update{{Node: "b", Incarnation: inc, State: Suspect, From: "d"}}})
	if dl() != at+time.Second {
		t.Fatalf("two confirmations: deadline %v", dl())
	}
	g.run(at+ms, at+time.Second-ms, ms, "b")
	if g.state("a", "b") != Suspect {
		t.Fatal("confirmed suspicion expired early")
	}
	g.at(at + time.Second)
	if g.state("a", "b") != Dead {
		t.Fatalf("confirmed suspicion did not expire at the minimum: %v health %d", g.state("a", "b"), a.Health())
	}
}

func TestRefutation(t *testing.T) {
	g := newGroup(t, Config{}, "a", "b", "c")
	at := suspectB(t, g)
	b := g.nodes["b"]
	inc := b.Incarnation()
	g.take(0, "", "")
	// The buddy system: a's next ping of b carries the suspicion first, and
	// b's ack carries its refutation.
	a := g.nodes["a"]
	out := a.Receive(t0.Add(at), "c", Msg{Kind: KindGossip}) // nothing
	if len(out) != 0 {
		t.Fatalf("empty gossip answered: %+v", out)
	}
	a.probe = nil
	a.round, a.next = []ring.NodeID{"b"}, 0
	a.nextProbe = t0.Add(at)
	pings := a.Tick(t0.Add(at))
	var ping Out
	for _, o := range pings {
		if o.Msg.Kind == KindPing {
			ping = o
		}
	}
	if ping.To != "b" || len(ping.Msg.Updates) == 0 || ping.Msg.Updates[0] != (Update{Node: "b", Incarnation: inc, State: Suspect, From: "a"}) {
		t.Fatalf("ping to a suspect does not carry the suspicion first: %+v", ping)
	}
	acks := b.Receive(t0.Add(at), "a", ping.Msg)
	if b.Incarnation() != inc+1 {
		t.Fatalf("b's incarnation %d after refuting, want %d", b.Incarnation(), inc+1)
	}
	var ack Out
	for _, o := range acks {
		if o.Msg.Kind == KindAck {
			ack = o
		}
	}
	if !slices.Contains(ack.Msg.Updates, Update{Node: "b", Incarnation: inc + 1, State: Alive, From: "b"}) {
		t.Fatalf("ack does not carry the refutation: %+v", ack)
	}
	// The refutation is also gossiped at once, not at the next tick.
	if !slices.ContainsFunc(acks, func(o Out) bool { return o.Msg.Kind == KindGossip }) {
		t.Fatalf("refutation not gossiped at once: %+v", acks)
	}
	a.Receive(t0.Add(at), "b", ack.Msg)
	if s := g.state("a", "b"); s != Alive {
		t.Fatalf("b %v after refuting", s)
	}
	if m, _ := a.Member("b"); m.Incarnation != inc+1 {
		t.Fatalf("a holds b at incarnation %d", m.Incarnation)
	}
	// Only b raises its own incarnation: a suspicion a sends does not.
	a.Tick(t0.Add(at + 10*time.Second))
	if m, _ := a.Member("b"); m.Incarnation != inc+1 {
		t.Fatalf("b's incarnation changed to %d at a", m.Incarnation)
	}
	// A stale suspicion (below b's incarnation) is answered with the current
	// refutation, not a new one.
	out = b.Receive(t0.Add(at), "c", Msg{Kind: KindPing, Seq: 9, Target: "b", Updates: []Update{{Node: "b", Incarnation: inc, State: Suspect, From: "c"}}})
	if b.Incarnation() != inc+1 || !slices.Contains(out[0].Msg.Updates, Update{Node: "b", Incarnation: inc + 1, State: Alive, From: "b"}) {
		t.Fatalf("stale suspicion: incarnation %d, answer %+v", b.Incarnation(), out)
	}
}

func TestDeadNodeThatRunsRefutes(t *testing.T) {
	// A member declared dead that is in fact running (a partition healed)
	// learns it from the first answer it gets, and refutes.
	g := newGroup(t, Config{}, "a", "b")
	a, b := g.nodes["a"], g.nodes["b"]
	a.Receive(t0, "c", Msg{Kind: KindGossip, Updates: []Update{{Node: "b", Incarnation: 0, State: Dead, From: "c"}}})
	if g.state("a", "b") != Dead {
		t.Fatal("dead update not applied")
	}
	ack := a.Receive(t0, "b", Msg{Kind: KindPing, Seq: 1, Target: "a"})
	b.Receive(t0, "a", ack[0].Msg)
	if b.Incarnation() != 1 {
		t.Fatalf("b did not refute its death: incarnation %d", b.Incarnation())
	}
	g.keep("b", b.Tick(t0.Add(time.Second)))
	g.settle()
	if g.state("a", "b") != Alive {
		t.Fatal("a did not take b's refutation")
	}
}

func TestAwarenessSlowsProbes(t *testing.T) {
	g := newGroup(t, Config{}, "a", "b", "c", "d")
	a := g.nodes["a"]
	// Raise a's score by 3: a probe whose ping-reqs got no answer at all
	// (2) and a suspicion of itself (1).
	a.aware.apply(2)
	a.Receive(t0, "b", Msg{Kind: KindGossip, Updates: []Update{{Node: "a", State: Suspect, From: "b"}}})
	if a.Health() != 4 {
		t.Fatalf("health %d, want 4", a.Health())
	}
	a.nextProbe = t0
	a.Tick(t0)
	p := a.probe
	if p.timeout != t0.Add(4*DefaultProbeTimeout) || p.end != t0.Add(4*DefaultProbeInterval) {
		t.Fatalf("probe not stretched: timeout %v end %v", p.timeout.Sub(t0), p.end.Sub(t0))
	}
	if got := a.Tick(t0.Add(DefaultProbeTimeout)); slices.ContainsFunc(got, func(o Out) bool { return o.Msg.Kind == KindPingReq }) {
		t.Fatal("ping-reqs at the unstretched timeout")
	}
	// A prompt direct ack lowers the score by one.
	a.Receive(t0.Add(10*ms), p.target, Msg{Kind: KindAck, Seq: p.seq})
	if a.Health() != 3 {
		t.Fatalf("health %d after a prompt ack, want 3", a.Health())
	}
	// The score is bounded by AwarenessMax.
	a.aware.apply(100)
	if a.Health() != DefaultAwarenessMax {
		t.Fatalf("health %d, want the max %d", a.Health(), DefaultAwarenessMax)
	}
	// Suspicion timeouts stretch too.
	s := newSuspicion("x", t0, 0, time.Second, 6*time.Second)
	if s.deadline(a.Health()) != t0.Add(8*time.Second) {
		t.Fatalf("suspicion deadline %v", s.deadline(a.Health()).Sub(t0))
	}
}

func TestMissedDeadlineIsNotEvidenceAgainstTarget(t *testing.T) {
	// A node that did not run between its probe's timeout and the period's
	// end never sent its ping-reqs: the failure is its own (health +1), and
	// the target is not suspected. With awareness off it is.
	for _, aw := range []int{0, 1} {
		g := newGroup(t, Config{AwarenessMax: aw}, "a", "b", "c")
		a := g.nodes["a"]
		a.nextProbe = t0
		a.Tick(t0)
		target := a.probe.target
		a.Tick(t0.Add(DefaultProbeInterval + 50*ms))
		st := g.state("a", target)
		if aw == 0 && (st != Alive || a.Health() != 2) {
			t.Fatalf("awareness on: %s %v, health %d", target, st, a.Health())
		}
		if aw == 1 && st != Suspect {
			t.Fatalf("awareness off: %s %v", target, st)
		}
	}
}

func TestLeftIsNotDead(t *testing.T) {
	g := newGroup(t, Config{}, "a", "b", "c")
	b := g.nodes["b"]
	out := b.Leave(t0.Add(time.Second))
	if len(out) != 2 || b.Incarnation() != 1 {
		t.Fatalf("leave sent %d messages at incarnation %d", len(out), b.Incarnation())
	}
	for _, o := range out {
		if o.Msg.Updates[0] != (Update{Node: "b", Incarnation: 1, State: Left, From: "b"}) {
			t.Fatalf("leave message %+v", o)
		}
	}
	g.keep("b", out)
	g.settle()
	for _, id := range []ring.NodeID{"a", "c"} {
		if s := g.state(id, "b"); s != Left {
			t.Fatalf("%s holds b %v", id, s)
		}
	}
	// A left member is not probed, so never suspected nor declared dead,
	// and a dead claim at its incarnation does not override left.
	for i := range 40 {
		g.at(time.Second + time.Duration(i)*DefaultProbeInterval)
		for _, s := range g.take(0, "", "") {
			if s.To == "b" && s.Msg.Kind != KindGossip {
				t.Fatalf("%s sent b a %v after it left", s.from, s.Msg.Kind)
			}
			g.carry([]sent{s})
		}
	}
	a := g.nodes["a"]
	a.Receive(g.now, "c", Msg{Kind: KindGossip, Updates: []Update{{Node: "b", Incarnation: 1, State: Dead, From: "c"}}})
	if s := g.state("a", "b"); s != Left {
		t.Fatalf("b %v after a dead claim at its leaving incarnation", s)
	}
	// b itself no longer probes.
	if slices.ContainsFunc(b.Tick(g.now.Add(time.Minute)), func(o Out) bool { return o.Msg.Kind == KindPing }) {
		t.Fatal("a left node probed")
	}
	if m := b.Members()[1]; m.ID != "b" || m.State != Left {
		t.Fatalf("b's own record %+v", m)
	}
}

func TestCrashedNodeDiesLeftNodeLeaves(t *testing.T) {
	// A crashed member goes alive → suspect → dead; a leaving one goes
	// straight to left.
	g := newGroup(t, Config{}, "a", "b", "c", "d")
	g.keep("d", g.nodes["d"].Leave(t0))
	delete(g.nodes, "b") // crashed
	for i := range 200 {
		g.at(time.Duration(i) * 50 * ms)
		g.settle()
	}
	for _, id := range []ring.NodeID{"a", "c"} {
		if s := g.state(id, "b"); s != Dead {
			t.Errorf("%s holds crashed b %v", id, s)
		}
		if s := g.state(id, "d"); s != Left {
			t.Errorf("%s holds departed d %v", id, s)
		}
	}
}

func TestRejoinAfterLeaveRefutesLeft(t *testing.T) {
	// b left, then came back as a fresh Node at incarnation 0: the first
	// answer it gets tells it it left, and it raises its incarnation past.
	g := newGroup(t, Config{}, "a", "b")
	a := g.nodes["a"]
	a.Receive(t0, "b", Msg{Kind: KindGossip, Updates: []Update{{Node: "b", Incarnation: 3, State: Left, From: "b"}}})
	b, _ := New(Config{}, "b", t0, rand.New(rand.NewPCG(1, 9)))
	b.Add(t0, "a")
	ack := a.Receive(t0, "b", Msg{Kind: KindPing, Seq: 1, Target: "a"})
	if ack[0].Msg.Updates[0] != (Update{Node: "b", Incarnation: 3, State: Left, From: "a"}) {
		t.Fatalf("ack to a left member does not say so first: %+v", ack[0].Msg.Updates)
	}
	b.Receive(t0, "a", ack[0].Msg)
	if b.Incarnation() != 4 {
		t.Fatalf("b at incarnation %d, want 4", b.Incarnation())
	}
	g.nodes["b"] = b
	g.keep("b", b.Tick(t0.Add(time.Second)))
	g.settle()
	if s := g.state("a", "b"); s != Alive {
		t.Fatalf("a holds the rejoined b %v", s)
	}
}

func TestForget(t *testing.T) {
	g := newGroup(t, Config{}, "a", "b", "c")
	a := g.nodes["a"]
	a.Forget("b")
	a.Forget("a") // self: nothing
	if _, ok := a.Member("b"); ok {
		t.Fatal("b still known")
	}
	if ms := a.Members(); len(ms) != 2 || ms[0].ID != "a" || ms[1].ID != "c" {
		t.Fatalf("members %+v", ms)
	}
	for i := range 20 {
		g.at(time.Duration(i) * DefaultProbeInterval)
		for _, s := range g.take(0, "a", "") {
			if s.To == "b" {
				t.Fatalf("a sent a forgotten member a %v", s.Msg.Kind)
			}
		}
	}
}

func TestLeaveReachesEveryMember(t *testing.T) {
	// The leave goes to every member directly, however many: it does not
	// depend on the piggyback's retransmit limit.
	var ids []ring.NodeID
	for i := range 30 {
		ids = append(ids, ring.NodeID(fmt.Sprintf("m%02d", i)))
	}
	g := newGroup(t, Config{}, ids...)
	g.keep("m00", g.nodes["m00"].Leave(t0))
	var told []ring.NodeID
	for _, s := range g.take(0, "m00", "") {
		if slices.Contains(s.Msg.Updates, Update{Node: "m00", Incarnation: 1, State: Left, From: "m00"}) {
			told = append(told, s.To)
		}
	}
	if len(told) != len(ids)-1 {
		t.Fatalf("leave told %d of %d members", len(told), len(ids)-1)
	}
}
