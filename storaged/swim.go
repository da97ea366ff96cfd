package storaged

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/ringsync/swim"
	"github.com/shoalkv/shoal/wire"
)

// Failure detection among storage nodes: the shell of ringsync/swim. One
// goroutine, owned by the Server, owns the swim.Node (which is not safe for
// concurrent use): it sleeps on the node's clock until the core's Deadline
// or until a message arrives, hands the core the message (Receive) or the
// time (Tick), and sends every message the core answers with. Messages
// that arrived before a Tick are received before it, as the core asks.
//
// Each message out is one wire.Swim request, sent from a short-lived
// goroutine of its own with the node's certificate and answered by an empty
// Ack that says only that it arrived: the protocol's answers (a ping's ack)
// are requests the other way. At most swimInFlight are in flight; a
// message past that is dropped (the protocol tolerates loss), so neither a
// dead peer's dial nor a slow one ever holds the loop. Received messages
// queue for the loop, up to swimInQueue; past that they are dropped too.
//
// The members are the ring's (Add at start, and Add and Forget when the
// ring changes); the sender of a message is its node certificate, and only
// members are heard. The loop publishes the core's view after every step
// (swimView): alive answers from it, hint delivery waits for owners held
// dead, and status shows it. On Close the node says it is leaving
// (swim.Node.Leave), so its peers mark it left at once rather than dead
// after a suspicion.
const (
	// swimInFlight bounds the sends in flight.
	swimInFlight = 64
	// swimInQueue bounds the received messages waiting for the loop.
	swimInQueue = 256
	// swimSendTimeout bounds one send, dial included: long enough for a
	// handshake on a loaded machine, short enough that sends to a dead
	// peer do not fill swimInFlight.
	swimSendTimeout = time.Second
	// swimLeaveWait bounds how long Close waits for its leave messages.
	swimLeaveWait = 200 * time.Millisecond
	// swimRecallInterval is how often a member held dead is pinged in
	// case it runs (recall): a healed partition is whole again within
	// about this times the dead members on each side.
	swimRecallInterval = time.Second
	// swimRedialEvery bounds how often receive drops the connection to one
	// member.
	swimRedialEvery = time.Second
)

// swimShell is the failure detector's state that the Server holds.
type swimShell struct {
	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
	// in carries received messages to the loop; set by start, before the
	// node serves, and never changed.
	in chan swimIn
	// view is the core's view after the loop's latest step (nil: the
	// detector is off or not started, every member counts as alive).
	view atomic.Pointer[swimView]
}

// swimIn is one received message.
type swimIn struct {
	from ring.NodeID
	msg  swim.Msg
}

// swimView is a snapshot of the core's view: immutable once published.
type swimView struct {
	members []swim.Member // sorted by id, self included
	byID    map[ring.NodeID]swim.Member
	health  int
}

// testHookSwimEvent, when set, sees every event of every node's detector,
// in order, from the node's loop goroutine (SetSwimObserver).
var testHookSwimEvent atomic.Pointer[func(self ring.NodeID, ev swim.Event)]

// testSwimNoRecall turns recall off (SetSwimNoRecall): a mutant for the
// healed-partition test.
var testSwimNoRecall atomic.Bool

// swimOff reports whether the detector is off (Config.Swim).
func (s *Server) swimOff() bool { return s.cfg.Swim.ProbeInterval < 0 }

// startSwim starts the detector's loop unless the server is closed, it
// runs already, or the detector is off. stopSwim (Close) stops it.
func (s *Server) startSwim() error {
	sh := &s.swim
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.closed.Load() {
		return errors.New("storaged: server is closed")
	}
	if sh.done != nil || s.swimOff() {
		return nil
	}
	var seed [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, seed[:]); err != nil {
		return fmt.Errorf("storaged: seed the failure detector: %w", err)
	}
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	node, err := swim.New(s.cfg.Swim, s.cfg.ID, s.clock.Now(), rng)
	if err != nil {
		return fmt.Errorf("storaged: failure detector: %w", err)
	}
	sh.in = make(chan swimIn, swimInQueue)
	ctx, cancel := context.WithCancel(context.Background())
	sh.stop, sh.done = cancel, make(chan struct{})
	l := &swimLoop{s: s, node: node, in: sh.in, sem: make(chan struct{}, swimInFlight)}
	l.sendCtx, l.sendCancel = context.WithCancel(context.Background())
	go func() {
		defer close(sh.done)
		l.run(ctx)
	}()
	return nil
}

// stopSwim stops the loop, if it runs, and waits for it (and its sends).
func (s *Server) stopSwim() {
	sh := &s.swim
	sh.mu.Lock()
	stop, done := sh.stop, sh.done
	sh.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// swimReceive serves a Swim request from a member: it queues the message
// for the loop (dropping it when the queue is full, or the detector is
// off) and acknowledges its arrival.
func (s *Server) swimReceive(p wire.Peer, body []byte) (any, error) {
	if err := s.member(p); err != nil {
		return nil, err
	}
	var req wire.Swim
	if err := wire.Decode(body, &req); err != nil {
		return nil, err
	}
	select {
	case s.swim.in <- swimIn{from: ring.NodeID(p.ID), msg: req.Msg}: // a nil channel (off) never takes it
	default:
	}
	return &wire.Ack{}, nil
}

// alive reports whether the failure detector holds id reachable: true
// unless it holds id dead or left (a suspect is alive until its suspicion
// ends), and true for an id it does not know or when it is off.
func (s *Server) alive(id ring.NodeID) bool {
	v := s.swim.view.Load()
	if v == nil {
		return true
	}
	m, ok := v.byID[id]
	return !ok || m.State == swim.Alive || m.State == swim.Suspect
}

// swimStatus returns the detector's view for wire.StatusOK, and its local
// health (0 when it is off).
func (s *Server) swimStatus() ([]wire.SwimMember, uint64) {
	v := s.swim.view.Load()
	if v == nil {
		return nil, 0
	}
	out := make([]wire.SwimMember, len(v.members))
	for i, m := range v.members {
		out[i] = wire.SwimMember{Node: m.ID, State: m.State.String(), Incarnation: m.Incarnation}
		if !m.Since.IsZero() {
			out[i].SinceMS = m.Since.UnixMilli()
		}
	}
	return out, uint64(v.health)
}

// swimLoop is the loop goroutine's state.
type swimLoop struct {
	s    *Server
	node *swim.Node
	in   <-chan swimIn
	ring *ring.Ring // the ring whose members node knows

	sem        chan struct{} // a token per send in flight
	sends      sync.WaitGroup
	sendCtx    context.Context // every send's parent: cancelled when the loop ends
	sendCancel context.CancelFunc
	dropped    uint64 // sends dropped at swimInFlight, logged now and then

	nextRecall time.Time   // when recall next pings a member held dead
	recalled   ring.NodeID // the member it pinged last
	// redialed is when receive last dropped the connection to each member.
	redialed map[ring.NodeID]time.Time
}

// run steps the core until ctx ends, then leaves and waits for its sends.
func (l *swimLoop) run(ctx context.Context) {
	defer l.finish()
	for {
		l.followRing()
		l.publish()
		d := l.node.Deadline()
		if d.IsZero() || l.nextRecall.Before(d) {
			d = l.nextRecall
		}
		t := l.s.clock.NewTimer(max(0, d.Sub(l.s.clock.Now())))
		select {
		case <-ctx.Done():
		case m := <-l.in:
			l.receive(m)
		case <-t.C():
			l.drain()
			now := l.s.clock.Now()
			l.step(l.node.Tick(now))
			l.recall(now)
		}
		t.Stop()
		if ctx.Err() != nil {
			return
		}
	}
}

// recall, every swimRecallInterval, pings one member held dead (the next
// in id order after the last one recalled), telling it so. The core sends
// nothing to a member it holds dead, so after a partition heals the two
// sides, each holding the other dead, would never hear from each other
// again (a restarted node, which starts knowing every member alive, has no
// such trouble). The member, if it runs, refutes at once (its incarnation
// passes the death) and its ack carries the refutation back, along with
// its own view of this node, which this node refutes in turn.
func (l *swimLoop) recall(now time.Time) {
	if now.Before(l.nextRecall) {
		return
	}
	l.nextRecall = now.Add(swimRecallInterval)
	if testSwimNoRecall.Load() {
		return
	}
	var dead []swim.Member
	for _, m := range l.node.Members() {
		if m.State == swim.Dead {
			dead = append(dead, m)
		}
	}
	if len(dead) == 0 {
		return
	}
	m := dead[0]
	for _, d := range dead { // the first after the last recalled, wrapping
		if d.ID > l.recalled {
			m = d
			break
		}
	}
	l.recalled = m.ID
	// Seq 0 is never a probe's (the core's start at 1), so the ack that
	// comes back is merged for its news and otherwise ignored.
	l.send([]swim.Out{{To: m.ID, Msg: swim.Msg{Kind: swim.KindPing, Target: m.ID,
		Updates: []swim.Update{{Node: m.ID, Incarnation: m.Incarnation, State: swim.Dead, From: l.s.cfg.ID}}}}})
}

// receive hands m to the core. A message from a member held dead or left
// is evidence that it runs again, perhaps as a new process: the cached
// connection to it is dropped first (at most once per swimRedialEvery), so
// that the answers go on a fresh one rather than wait behind the old
// connection's loss recovery until the new process resets it.
func (l *swimLoop) receive(m swimIn) {
	now := l.s.clock.Now()
	if mem, ok := l.node.Member(m.from); ok && (mem.State == swim.Dead || mem.State == swim.Left) {
		l.redial(now, m.from)
	}
	l.step(l.node.Receive(now, m.from, m.msg))
}

// redial drops the cached connection (or the dial under way) to member id,
// unless it did so less than swimRedialEvery ago.
func (l *swimLoop) redial(now time.Time, id ring.NodeID) {
	n, ok := l.s.ring.Load().Node(id)
	if !ok || now.Before(l.redialed[id].Add(swimRedialEvery)) {
		return
	}
	if l.redialed == nil {
		l.redialed = make(map[ring.NodeID]time.Time)
	}
	l.redialed[id] = now
	l.s.ep.Redial(n.Addr)
}

// drain receives every message already queued.
func (l *swimLoop) drain() {
	for {
		select {
		case m := <-l.in:
			l.receive(m)
		default:
			return
		}
	}
}

// followRing makes the core's members the ring's, when the ring changed.
func (l *swimLoop) followRing() {
	r := l.s.ring.Load()
	if r == l.ring {
		return
	}
	now := l.s.clock.Now()
	in := make(map[ring.NodeID]bool)
	for _, n := range r.Nodes() {
		in[n.ID] = true
		l.node.Add(now, n.ID)
	}
	for _, m := range l.node.Members() {
		if !in[m.ID] {
			l.node.Forget(m.ID)
		}
	}
	l.ring = r
}

// step reports the core's events and sends outs. A member back from dead
// or left gets a fresh connection first (redial): one dialled while it
// was unreachable waits behind QUIC's loss recovery backoff, and every
// caller (hint delivery too) would wait with it.
func (l *swimLoop) step(outs []swim.Out) {
	defer l.send(outs)
	hook := testHookSwimEvent.Load()
	for _, ev := range l.node.Events() {
		if hook != nil {
			(*hook)(l.s.cfg.ID, ev)
		}
		if ev.To == swim.Alive && (ev.From == swim.Dead || ev.From == swim.Left) {
			l.redial(ev.At, ev.Node)
		}
		if ev.From == 0 && ev.To == swim.Alive {
			continue // first heard of, as expected
		}
		l.s.log.Info("failure detector: member "+ev.To.String(), "member", ev.Node, "incarnation", ev.Incarnation,
			"was", ev.From.String(), "by", ev.By)
	}
}

// publish stores the core's view for alive and status.
func (l *swimLoop) publish() {
	ms := l.node.Members()
	v := &swimView{members: ms, byID: make(map[ring.NodeID]swim.Member, len(ms)), health: l.node.Health()}
	for _, m := range ms {
		v.byID[m.ID] = m
	}
	l.s.swim.view.Store(v)
}

// send sends each message from a goroutine of its own, dropping those past
// swimInFlight and those to ids the ring does not hold.
func (l *swimLoop) send(outs []swim.Out) {
	r := l.s.ring.Load()
	for _, o := range outs {
		n, ok := r.Node(o.To)
		if !ok {
			continue
		}
		select {
		case l.sem <- struct{}{}:
		default:
			if l.dropped++; l.dropped&(l.dropped-1) == 0 { // 1, 2, 4, 8, ...
				l.s.log.Warn("failure detector: too many messages in flight; dropping", "dropped", l.dropped, "limit", swimInFlight)
			}
			continue
		}
		req := &wire.Swim{Msg: o.Msg}
		l.sends.Go(func() {
			defer func() { <-l.sem }()
			ctx, cancel := context.WithTimeout(l.sendCtx, swimSendTimeout)
			defer cancel()
			_ = l.s.ep.Call(ctx, n.Addr, string(n.ID), req, &wire.Ack{}) // best-effort: loss is the protocol's to bear
		})
	}
}

// finish tells the members this node leaves, waits up to swimLeaveWait for
// those messages, then cancels every send left and waits for them.
func (l *swimLoop) finish() {
	l.send(l.node.Leave(l.s.clock.Now()))
	sent := make(chan struct{})
	go func() {
		l.sends.Wait()
		close(sent)
	}()
	t := l.s.clock.NewTimer(swimLeaveWait)
	select {
	case <-sent:
	case <-t.C():
	}
	t.Stop()
	l.sendCancel()
	<-sent
	l.s.swim.view.Store(nil)
}
