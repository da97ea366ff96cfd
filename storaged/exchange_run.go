package storaged

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/antientropy"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/storaged/replica"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
)

// Anti-entropy, the initiator's side (Dynamo, SOSP 2007, §4.7): one
// goroutine, owned by the Server, waits AntiEntropyInterval on the node's
// clock, then runs cycles back to back. A cycle takes the partitions this
// node replicates in an order of its own (antientropy.Order: the members of
// a cluster start a cycle at different points of the ring), spread evenly
// over AntiEntropyInterval (antientropy.PaceAt; a cycle whose exchanges take
// longer just runs late), and for each its other replicas in preference
// order, one exchange at a time. Before each exchange it asks the node's
// facts (antientropy.Skips, whose doc comment holds the argument that
// nothing is missed) whether the pair can be skipped: this node's tree has
// not changed since its own exchange found the pair equal, or the peer
// compared the pair since this node's previous turn at it. Every
// aeFullEvery-th cycle skips nothing.
//
// An exchange drives the pure state machine of storaged/antientropy against
// a snapshot of the partition's tree: its requests go to the peer with the
// node's certificate, its scans read the partition from the store (key
// hashes and clocks), and its repairs merge in the direction(s) the
// exchange found (a key one side lacks goes to it; one both hold
// differently as the two clocks say, antientropy.Direction): Fetch gets the
// peer's object (wire.Get) and merges it here, Push sends this node's
// object to the peer (wire.Handoff, a merge there). An exchange that finds the roots equal records it (the
// snapshot's seq) for later cycles. Every byte moved, hashes and objects,
// goes through one token bucket at AntiEntropyRate. A peer that cannot be
// reached is skipped for the rest of the cycle. On-demand repairs
// (repair.go) run the same passes over the same slot and bucket, skipping
// nothing and at full speed.

// aeCallTimeout bounds one call of an exchange (a dial included).
const aeCallTimeout = 10 * time.Second

// aeFullEvery makes every aeFullEvery-th scheduled cycle (the 10th, the
// 20th, ...) compare every pair, skipping none: one cycle in 5 minutes at
// the default interval. It bounds how long a fault outside the skipping
// argument (antientropy.Skips) can go unfound, at the cost of one unskipped
// cycle in ten. (The first cycle need not be full: a node that starts has
// no facts of its own, and it skips only the pairs a peer has just found
// equal.)
const aeFullEvery = 10

// aeCounters are the anti-entropy figures status reports: scheduled cycles
// and on-demand repairs together.
type aeCounters struct {
	partitions, repaired, failed, lastCycleMS atomic.Uint64
}

// aeShared is what every anti-entropy pass of the node shares, a scheduled
// cycle or an on-demand repair (repair.go): one exchange at a time (slot,
// held for a whole exchange, its throttled repairs included), and one byte
// throttle at AntiEntropyRate (bucket), touched only by the slot's holder.
// So a client that asks for repairs makes exchanges wait their turn and
// never moves bytes faster than the rate.
type aeShared struct {
	slot   chan struct{} // capacity 1
	bucket *hint.TokenBucket
	marks  *aeMarks
}

func newAEShared(rate int64, now time.Time) aeShared {
	return aeShared{slot: make(chan struct{}, 1), bucket: hint.NewTokenBucket(rate, now),
		marks: &aeMarks{skips: antientropy.NewSkips()}}
}

// aeMarks are the node's facts for skipping exchanges (antientropy.Skips),
// kept in memory only (a restarted node has none, so its first cycle
// compares every pair). Its cycles, its repairs and its answers to the
// peers' exchanges record them concurrently, under mu.
type aeMarks struct {
	mu    sync.Mutex
	skips *antientropy.Skips
}

// turn is this node's turn at partition p with peer in a scheduled cycle,
// its tree of p being at seq: whether to compare the pair now.
func (m *aeMarks) turn(p int, peer ring.NodeID, seq uint64, full bool) antientropy.Verdict {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.skips.Turn(uint32(p), peer, seq, full)
}

// found records that this node's exchange of p with peer, from its tree at
// seq, found the roots equal.
func (m *aeMarks) found(p int, peer ring.NodeID, seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.skips.Found(uint32(p), peer, seq)
}

// answered records that this node answered peer's exchange of part with
// equal roots.
func (m *aeMarks) answered(part uint32, peer ring.NodeID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.skips.Answered(part, peer)
}

// take waits for the exchange slot (or ctx's end) and returns its release.
func (x aeShared) take(ctx context.Context) (release func(), err error) {
	select {
	case x.slot <- struct{}{}:
		return func() { <-x.slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// startAntiEntropy starts the anti-entropy goroutine unless the server is
// closed, it runs already, AntiEntropyInterval is negative or the node has
// no hash trees (Config.NoTrees).
// stopAntiEntropy (Close) stops it.
func (s *Server) startAntiEntropy() error {
	s.aeMu.Lock()
	defer s.aeMu.Unlock()
	if s.closed.Load() {
		return errors.New("storaged: server is closed")
	}
	if s.aeDone != nil || s.cfg.AntiEntropyInterval < 0 || s.trees.off {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.aeStop, s.aeDone = cancel, done
	a := &aeRun{s: s, x: s.aex}
	every := s.cfg.AntiEntropyInterval
	go func() {
		defer close(done)
		if sleep(ctx, s.clock, every) != nil {
			return
		}
		for n := 0; ; n++ {
			began := s.clock.Now()
			a.cycle(ctx, began, n%aeFullEvery == aeFullEvery-1)
			// A cycle that ran late starts the next at once.
			if sleep(ctx, s.clock, began.Add(every).Sub(s.clock.Now())) != nil {
				return
			}
		}
	}()
	return nil
}

// stopAntiEntropy stops the anti-entropy goroutine, if it runs, and waits
// for it.
func (s *Server) stopAntiEntropy() {
	s.aeMu.Lock()
	stop, done := s.aeStop, s.aeDone
	s.aeStop = nil
	s.aeMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// aeRun is one pass's state, touched by the goroutine that runs it alone.
type aeRun struct {
	s *Server
	x aeShared // the node's (s.aex)
	// repaired, if not nil, is told of each key repaired as it is (the
	// node's counter counts it too).
	repaired func(n uint64)
	// turn, if not nil, says before each exchange whether to make it
	// (aeMarks.turn); a repair leaves it nil and exchanges every pair.
	turn func(p int, peer ring.NodeID) antientropy.Verdict
	// pace, if not nil, waits until the i-th of n partitions may begin.
	pace func(ctx context.Context, i, n int) error
	// notReady counts the partitions pass skipped because their tree was
	// not rebuilt yet.
	notReady int
}

// throttle takes n bytes from the node's bucket and waits until they are
// paid for. The caller holds the exchange slot.
func (a *aeRun) throttle(ctx context.Context, n int64) error {
	return sleep(ctx, a.s.clock, a.x.bucket.Reserve(a.s.clock.Now(), int(n)))
}

// countRepaired counts one key repaired.
func (a *aeRun) countRepaired() {
	a.s.ae.repaired.Add(1)
	if a.repaired != nil {
		a.repaired(1)
	}
}

// cycle runs one scheduled cycle that began at began: every partition this
// node replicates, in its order, each with each of its other replicas,
// paced over AntiEntropyInterval, skipping what the node's facts allow
// unless full. A complete cycle records its duration.
func (a *aeRun) cycle(ctx context.Context, began time.Time, full bool) {
	s := a.s
	r := s.ring.Load()
	a.notReady = 0
	var skipped [3]int // by verdict
	a.turn = func(p int, peer ring.NodeID) antientropy.Verdict {
		v := a.x.marks.turn(p, peer, s.trees.seq(p), full)
		skipped[v]++
		return v
	}
	a.pace = func(ctx context.Context, i, n int) error {
		return sleep(ctx, s.clock, antientropy.PaceAt(began, s.cfg.AntiEntropyInterval, i, n).Sub(s.clock.Now()))
	}
	parts := antientropy.Order(s.replicated(r), s.memberIndex(r), len(r.Nodes()))
	if a.pass(ctx, r, parts, nil, nil) != nil {
		return
	}
	took := s.clock.Now().Sub(began)
	if a.notReady > 0 {
		s.log.Debug("anti-entropy cycle skipped partitions whose trees were rebuilding", "partitions", a.notReady,
			"took", took)
		return // not a full cycle
	}
	s.ae.lastCycleMS.Store(uint64(took.Milliseconds()))
	s.log.Debug("anti-entropy cycle done", "took", took, "ring_version", r.Version(), "full", full,
		"compared", skipped[antientropy.Compare], "skipped_unchanged", skipped[antientropy.SkipUnchanged],
		"skipped_compared_by_peer", skipped[antientropy.SkipCompared])
}

// memberIndex is this node's index among r's members (sorted by id), or 0.
func (s *Server) memberIndex(r *ring.Ring) int {
	for i, n := range r.Nodes() {
		if n.ID == s.cfg.ID {
			return i
		}
	}
	return 0
}

// replicated returns the partitions this node replicates in r, ascending.
func (s *Server) replicated(r *ring.Ring) []int {
	var out []int
	for p := range r.Partitions() {
		if s.replicates(r, p) {
			out = append(out, p)
		}
	}
	return out
}

// pass runs the exchanges of parts (partitions this node replicates in r,
// in the order given), each with each of its other replicas in preference
// order, one at a time, paced by a.pace and each asked of a.turn first
// when they are set (a skipped pair is neither run nor counted). A peer
// that failed other than by an error answer (unreachable, say) is skipped
// for the rest of the pass, each skip a failure that names its first
// error. On a node without hash trees every exchange fails at once with
// errNoTrees. Each exchange's outcome goes to the node's counters and to
// exchanged, and partDone runs after a partition's last exchange (either
// may be nil). If ctx ends first pass returns its error, and the exchange
// it cut short is neither counted nor reported.
func (a *aeRun) pass(ctx context.Context, r *ring.Ring, parts []int, exchanged func(p int, peer ring.NodeID, err error), partDone func()) error {
	s := a.s
	down := make(map[ring.NodeID]error) // the first failure of each peer that failed; only looked up
	for i, p := range parts {
		if a.pace != nil {
			if err := a.pace(ctx, i, len(parts)); err != nil {
				return err
			}
		}
		if !s.trees.off && !s.trees.ready(p) {
			a.notReady++ // rebuilding since the node started: nothing to compare yet
			if partDone != nil {
				partDone()
			}
			continue
		}
		primaries, _ := r.PreferenceOf(p, s.cfg.N)
		for _, peer := range primaries {
			if peer.ID == s.cfg.ID {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if a.turn != nil && a.turn(p, peer.ID) != antientropy.Compare {
				continue
			}
			err := down[peer.ID]
			if s.trees.off {
				err = s.errNoTrees()
			} else if err != nil {
				err = fmt.Errorf("storaged: skipped: %s failed earlier in this pass: %w", peer.ID, err)
			} else if err = a.exchange(ctx, r, p, peer); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				var remote *wire.RemoteError
				if !errors.As(err, &remote) {
					down[peer.ID] = err
				}
				s.log.Debug("anti-entropy exchange failed", "partition", p, "peer", peer.ID, "err", err)
			}
			if err != nil {
				s.ae.failed.Add(1)
			} else {
				s.ae.partitions.Add(1)
			}
			if exchanged != nil {
				exchanged(p, peer.ID, err)
			}
		}
		if partDone != nil {
			partDone()
		}
	}
	return nil
}

// testHookExchanged, when set (tests), sees each exchange's figures as it
// ends.
var testHookExchanged atomic.Pointer[func(p int, peer ring.NodeID, st antientropy.Stats, moved moved)]

// moved counts the objects an exchange fetched and merged here, and pushed
// to the peer.
type moved struct{ Fetched, Pushed int }

// exchange runs one exchange of partition p with peer to its end, holding
// the node's exchange slot throughout.
func (a *aeRun) exchange(ctx context.Context, r *ring.Ring, p int, peer ring.Node) error {
	s := a.s
	release, err := a.x.take(ctx)
	if err != nil {
		return err
	}
	defer release()
	snap, seq := s.treeSnapshot(p)
	x, err := antientropy.New(antientropy.Config{MaxKey: s.cfg.Limits.MaxKey}, uint32(p), r.Version(), snap)
	if err != nil {
		return err
	}
	var throttled int64 // metadata bytes already throttled
	var objects moved
	for {
		rd := x.Ready()
		if err := a.throttle(ctx, rd.Stats.BytesSent+rd.Stats.BytesReceived-throttled); err != nil {
			return err
		}
		throttled = rd.Stats.BytesSent + rd.Stats.BytesReceived
		m, err := a.repair(ctx, peer, rd.Fetch, rd.Push, rd.Theirs)
		objects.Fetched, objects.Pushed = objects.Fetched+m.Fetched, objects.Pushed+m.Pushed
		if err != nil {
			return err
		}
		if rd.Done {
			if hook := testHookExchanged.Load(); hook != nil {
				(*hook)(p, peer.ID, rd.Stats, objects)
			}
			if rd.Equal {
				a.x.marks.found(p, peer.ID, seq)
			}
			return rd.Err
		}
		if rd.Scan == nil && rd.Send == nil {
			return fmt.Errorf("storaged: anti-entropy exchange of partition %d with %s stalled", p, peer.ID)
		}
		if rd.Scan != nil {
			keys, err := s.scanLeaves(p, rd.Scan)
			if err != nil {
				return err
			}
			x.Local(keys)
		}
		if rd.Send != nil {
			a.send(ctx, x, peer, rd.Send)
		}
	}
}

// send makes one request of the exchange and feeds its outcome back.
func (a *aeRun) send(ctx context.Context, x *antientropy.Exchange, peer ring.Node, req any) {
	var resp any
	switch req.(type) {
	case *wire.ExchangeTop:
		resp = &wire.ExchangeTopOK{}
	case *wire.ExchangeLeaves:
		resp = &wire.ExchangeLeavesOK{}
	case *wire.ExchangeKeys:
		resp = &wire.ExchangeKeysOK{}
	case *wire.ExchangeClocks:
		resp = &wire.ExchangeClocksOK{}
	default:
		x.Fail(fmt.Errorf("storaged: exchange asked to send %T", req))
		return
	}
	cctx, cancel := context.WithTimeout(ctx, aeCallTimeout)
	err := a.s.ep.Call(cctx, peer.Addr, string(peer.ID), req, resp)
	cancel()
	if err != nil {
		x.Fail(err)
		return
	}
	size := 0
	if body, err := wire.Encode(resp); err == nil { // for Stats and the throttle: decoded, it re-encodes to its size
		size = len(body)
	}
	x.Answer(resp, size)
}

// scanLeaves is an exchange's Scan: this node's key hashes and clocks of the
// leaves asked, from one scan of partition p. Objects that do not decode are
// left out, as the trees leave them out.
func (s *Server) scanLeaves(p int, sc *antientropy.Scan) ([]antientropy.LocalKey, error) {
	var out []antientropy.LocalKey
	err := s.st.ScanPartition(p, nil, func(key, value []byte) bool {
		if !sc.Want(key) {
			return true
		}
		obj, err := replica.ObjectOf(value)
		if err != nil {
			return true
		}
		out = append(out, antientropy.LocalKey{Key: append([]byte(nil), key...), Hash: merkle.Hash(key, obj), VV: obj.VV})
		return true
	})
	return out, err
}

// repair fetches and merges the keys of fetch, then pushes those of push:
// a key in both ends as the union on both sides, counted once. A key in
// both is pushed only if the merge here left this side's object other than
// the peer's (theirs: the peer's hash of the object it stores, from the
// exchange's key listing): when the peer's object already held everything
// this side held, the fetch alone made the two equal. A key the peer or
// this node refuses for itself (a limit, a forged claim) is logged and
// skipped; any other failure ends the exchange. It returns the objects it
// moved.
func (a *aeRun) repair(ctx context.Context, peer ring.Node, fetch, push [][]byte, theirs map[string]uint64) (moved, error) {
	var m moved
	repaired := make(map[string]bool, len(fetch)) // only looked up
	fetchOne := func(ctx context.Context, peer ring.Node, key []byte) (bool, error) {
		ok, err := a.fetch(ctx, peer, key)
		if ok {
			m.Fetched++
		}
		return ok, err
	}
	pushOne := func(ctx context.Context, peer ring.Node, key []byte) (bool, error) {
		h, known := theirs[string(key)]
		ok, err := a.push(ctx, peer, key, h, known)
		if ok && err == nil {
			m.Pushed++
		}
		return ok, err
	}
	for _, step := range []struct {
		keys [][]byte
		do   func(context.Context, ring.Node, []byte) (bool, error)
		what string
	}{{fetch, fetchOne, "fetch"}, {push, pushOne, "push"}} {
		for _, key := range step.keys {
			done, err := step.do(ctx, peer, key)
			if err != nil && !recordRefused(err) {
				return m, err
			}
			if err != nil {
				a.s.log.Warn("anti-entropy: the peer refused a key", "step", step.what, "peer", peer.ID, "key", store.KeyHash(key), "err", err)
				continue
			}
			if done && !repaired[string(key)] {
				repaired[string(key)] = true
				a.countRepaired()
			}
		}
	}
	return m, nil
}

// fetch gets key's object from peer and merges it here; it reports whether
// it merged one (the peer held the key and this node took its object).
func (a *aeRun) fetch(ctx context.Context, peer ring.Node, key []byte) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, aeCallTimeout)
	var got wire.GetOK
	err := a.s.ep.Call(cctx, peer.Addr, string(peer.ID), &wire.Get{Key: key}, &got)
	cancel()
	if err != nil || !got.Found {
		return false, err
	}
	if err := a.throttle(ctx, int64(got.Object.Size())); err != nil { // Size: the encoded size, without encoding
		return false, err
	}
	if _, err := a.s.merge(ctx, key, got.Object, replica.FromNode); err != nil {
		if localFailure(err) {
			return false, err
		}
		a.s.log.Warn("anti-entropy: refused to merge a fetched object", "peer", peer.ID, "key", store.KeyHash(key), "err", err)
		return false, nil
	}
	return true, nil
}

// localFailure reports whether err, from a local merge, is this node's
// storage failing or shutting down (the exchange ends) rather than a refusal
// of that one object (a limit, a forged claim: the key is skipped).
func localFailure(err error) bool {
	return errors.Is(err, wire.ErrStorage) || errors.Is(err, wire.ErrShuttingDown) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// push sends this node's object of key to peer to merge there, unless
// known and the object hashes to theirs, the peer's stored object's hash
// (then the peer holds exactly it already); it reports whether it sent it.
func (a *aeRun) push(ctx context.Context, peer ring.Node, key []byte, theirs uint64, known bool) (bool, error) {
	b, err := a.s.st.Get(store.Objects, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	obj, err := decodeObject(b)
	if err != nil {
		return false, err
	}
	if known && merkle.Hash(key, obj) == theirs {
		return false, nil
	}
	if err := a.throttle(ctx, int64(len(b))); err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, aeCallTimeout)
	err = a.s.ep.Call(cctx, peer.Addr, string(peer.ID), &wire.Handoff{Key: key, Object: obj}, &wire.Ack{})
	cancel()
	return err == nil, err
}
