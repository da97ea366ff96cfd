package swim

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// The simulation harness: n nodes over a simulated network with latency and
// loss, one event queue in virtual time, seeded. A starved node models a
// process short of CPU: it runs only at wake-ups separated by random
// pauses, and handles what piled up meanwhile (messages and a due Tick) in
// a random order, as a runtime that schedules its timer and its socket
// reader in no particular order would.

var t0 = time.Unix(1_000_000, 0)

type simCfg struct {
	n       int
	cfg     Config
	seed    uint64
	loss    float64       // probability that a message is lost
	latency time.Duration // one-way, plus up to as much again of jitter
	// starved nodes (by index) pause for exponential times of mean
	// starveMean, capped at starveMax, between runs.
	starved    []int
	starveMean time.Duration
	starveMax  time.Duration
}

type simNode struct {
	id      ring.NodeID
	n       *Node
	crashed bool
	crashAt time.Time
	starved bool
	rng     *rand.Rand // the node's pauses
	tickAt  time.Time  // the pending tick event's time
	// A starved node's pending work.
	inbox    []delivery
	tickDue  bool
	wakeAt   time.Time // the pending wake event's time (zero: none)
	lastWake time.Time
}

type delivery struct {
	from ring.NodeID
	msg  Msg
}

type evKind int

const (
	evDeliver evKind = iota
	evTick
	evWake
)

type event struct {
	at   time.Time
	seq  int
	kind evKind
	to   *simNode
	d    delivery
}

type evHeap []*event

func (h evHeap) Len() int { return len(h) }
func (h evHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h evHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *evHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *evHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// obs is one state change seen by one node.
type obs struct {
	at       time.Time
	observer ring.NodeID
	Event
}

type sim struct {
	t     testing.TB
	c     simCfg
	now   time.Time
	rng   *rand.Rand // the network's
	nodes []*simNode
	byID  map[ring.NodeID]*simNode
	q     evHeap
	seq   int
	log   []obs
	// sent and updates count the messages sent and the updates they
	// carried.
	sent, updates int
}

func newSim(t testing.TB, c simCfg) *sim {
	s := &sim{t: t, c: c, now: t0, rng: rand.New(rand.NewPCG(c.seed, 1)), byID: make(map[ring.NodeID]*simNode)}
	var ids []ring.NodeID
	for i := range c.n {
		ids = append(ids, ring.NodeID(fmt.Sprintf("n%d", i)))
	}
	for i, id := range ids {
		n, err := New(c.cfg, id, t0, rand.New(rand.NewPCG(c.seed, uint64(100+i))))
		if err != nil {
			t.Fatal(err)
		}
		n.Add(t0, ids...)
		sn := &simNode{id: id, n: n, starved: slices.Contains(c.starved, i), rng: rand.New(rand.NewPCG(c.seed, uint64(200+i))), lastWake: t0}
		s.nodes = append(s.nodes, sn)
		s.byID[id] = sn
		s.drain(sn)
		s.schedule(sn)
	}
	return s
}

func (s *sim) push(e *event) {
	e.seq = s.seq
	s.seq++
	heap.Push(&s.q, e)
}

// schedule queues the node's next tick at its deadline.
func (s *sim) schedule(sn *simNode) {
	d := sn.n.Deadline()
	if d.IsZero() || d.Equal(sn.tickAt) {
		return
	}
	if d.Before(s.now) {
		d = s.now
	}
	sn.tickAt = d
	s.push(&event{at: d, kind: evTick, to: sn})
}

func (s *sim) send(from *simNode, outs []Out) {
	limit := s.c.cfg.withDefaults().MaxPiggyback
	for _, o := range outs {
		s.sent++
		s.updates += len(o.Msg.Updates)
		if len(o.Msg.Updates) > limit || s.byID[o.To] == nil || o.To == from.id {
			s.t.Fatalf("%s sent a bad message to %s: %d updates (limit %d)", from.id, o.To, len(o.Msg.Updates), limit)
		}
		if s.rng.Float64() < s.c.loss {
			continue
		}
		lat := s.c.latency + time.Duration(s.rng.Int64N(int64(s.c.latency)+1))
		s.push(&event{at: s.now.Add(lat), kind: evDeliver, to: s.byID[o.To], d: delivery{from: from.id, msg: o.Msg}})
	}
}

func (s *sim) drain(sn *simNode) {
	for _, e := range sn.n.Events() {
		s.log = append(s.log, obs{at: s.now, observer: sn.id, Event: e})
	}
}

// wake asks for the starved node's next run at or after now.
func (s *sim) wake(sn *simNode) {
	if !sn.wakeAt.IsZero() {
		return
	}
	w := sn.lastWake
	for w.Before(s.now) {
		gap := time.Duration(sn.rng.ExpFloat64() * float64(s.c.starveMean))
		w = w.Add(min(gap, s.c.starveMax) + time.Millisecond)
	}
	sn.lastWake = w
	sn.wakeAt = w
	s.push(&event{at: w, kind: evWake, to: sn})
}

func (s *sim) handle(sn *simNode, tick bool, d *delivery) {
	var outs []Out
	if tick {
		outs = sn.n.Tick(s.now)
	} else {
		outs = sn.n.Receive(s.now, d.from, d.msg)
	}
	s.drain(sn)
	s.send(sn, outs)
}

// run advances the simulation to until.
func (s *sim) run(until time.Time) {
	for len(s.q) > 0 && !s.q[0].at.After(until) {
		e := heap.Pop(&s.q).(*event)
		s.now = e.at
		sn := e.to
		if sn.crashed {
			continue
		}
		switch e.kind {
		case evDeliver:
			if sn.starved {
				sn.inbox = append(sn.inbox, e.d)
				s.wake(sn)
				continue
			}
			s.handle(sn, false, &e.d)
		case evTick:
			if !e.at.Equal(sn.tickAt) {
				continue // superseded
			}
			if sn.starved {
				sn.tickDue = true
				s.wake(sn)
				continue
			}
			s.handle(sn, true, nil)
		case evWake:
			sn.wakeAt = time.Time{}
			s.runStarved(sn)
		}
		s.schedule(sn)
	}
	s.now = until
}

// runStarved handles a starved node's pending work in a random order.
func (s *sim) runStarved(sn *simNode) {
	work := len(sn.inbox)
	if sn.tickDue {
		work++
	}
	order := sn.rng.Perm(work)
	inbox := sn.inbox
	sn.inbox, sn.tickDue = nil, false
	for _, i := range order {
		if i == len(inbox) {
			s.handle(sn, true, nil)
		} else {
			s.handle(sn, false, &inbox[i])
		}
	}
}

func (s *sim) crash(i int) {
	sn := s.nodes[i]
	sn.crashed, sn.crashAt = true, s.now
}

// detection returns how long after id's crash every live node had marked it
// dead, and false if one had not by the end of the run.
func (s *sim) detection(id ring.NodeID) (time.Duration, bool) {
	crash := s.byID[id].crashAt
	var worst time.Duration
	for _, sn := range s.nodes {
		if sn.crashed {
			continue
		}
		seen := false
		for _, o := range s.log {
			if o.observer == sn.id && o.Node == id && o.To == Dead && !o.at.Before(crash) {
				worst = max(worst, o.at.Sub(crash))
				seen = true
				break
			}
		}
		if !seen {
			return 0, false
		}
	}
	return worst, true
}

// falsePositives counts the suspect and dead declarations made of nodes that
// were running at the time, by observer.
type falsePositives struct {
	// dead and suspect count the declarations each observer made or
	// adopted, raised those it made itself (its own probe failed).
	dead, suspect, raised map[ring.NodeID]int
	deadTotal             int
	suspectTotal          int
}

func (s *sim) falsePositives() falsePositives {
	fp := falsePositives{dead: map[ring.NodeID]int{}, suspect: map[ring.NodeID]int{}, raised: map[ring.NodeID]int{}}
	for _, o := range s.log {
		sn := s.byID[o.Node]
		if sn.crashed && !o.at.Before(sn.crashAt) {
			continue
		}
		switch o.To {
		case Dead:
			fp.dead[o.observer]++
			fp.deadTotal++
		case Suspect:
			fp.suspect[o.observer]++
			fp.suspectTotal++
			if o.By == o.observer {
				fp.raised[o.observer]++
			}
		}
	}
	return fp
}
