package storaged

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/antientropy"
	"github.com/shoalkv/shoal/wire"
)

// On-demand repair (wire.Repair, `shoal repair`): a pass of anti-entropy
// exchanges run now, over the partitions this node replicates or some of
// them, each with each of its other replicas, exactly as the scheduled cycle
// runs them (aeRun.pass), on a goroutine of its own that the Server owns and
// Close stops. Its exchanges take the node's exchange slot and byte throttle
// in turn with the cycle's (aeShared), so a repair neither runs two
// exchanges at once nor moves bytes faster than AntiEntropyRate, whoever
// asks. At most one repair runs at a time; a request for another is refused
// with wire.ErrBusy. The caller polls its progress (wire.RepairStatus), so
// no request stays open for the length of a repair.

// keepRepairs is how many repairs, the running one included, a node keeps
// for RepairStatus: enough that a caller polling every few seconds finds
// its own repair's result even if others asked for repairs since.
const keepRepairs = 8

// testRepairOwnThrottle makes each repair take an exchange slot and a byte
// throttle of its own, the bypass repairs must not have: the negative
// control of the throttle test.
var testRepairOwnThrottle atomic.Bool

// repairs are the node's on-demand repairs since it started: the last
// keepRepairs of them, oldest first, of which only the last may run.
// Every field is guarded by mu, and so is every Repair in recent.
type repairs struct {
	mu     sync.Mutex
	closed bool
	seq    uint64 // repairs started
	recent []*antientropy.Repair

	// ctx is every repair's, cancelled by stopRepairs, which then waits
	// for wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (rs *repairs) init() {
	rs.ctx, rs.cancel = context.WithCancel(context.Background())
}

// running returns the running repair, or nil. The caller holds mu.
func (rs *repairs) running() *antientropy.Repair {
	if n := len(rs.recent); n > 0 && rs.recent[n-1].Running() {
		return rs.recent[n-1]
	}
	return nil
}

// startRepair answers wire.Repair: it checks the partitions asked, refuses
// while a repair runs or the node stops, and otherwise starts the repair
// and answers with its progress at the start.
func (s *Server) startRepair(body []byte) (any, error) {
	var req wire.Repair
	if err := wire.Decode(body, &req); err != nil {
		return nil, err
	}
	r := s.ring.Load()
	parts, err := s.repairScope(r, req.Partitions)
	if err != nil {
		return nil, err
	}
	whole := len(req.Partitions) == 0
	rs := &s.rep
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return nil, fmt.Errorf("%w: node %q is stopping; no repair started", wire.ErrShuttingDown, s.cfg.ID)
	}
	now := s.clock.Now()
	if cur := rs.running(); cur != nil {
		p := cur.Progress(now)
		return nil, fmt.Errorf("%w: node %q runs repair %016x already (%d of %d partitions done); no repair started: follow that one (RepairStatus, shoal status) or ask again once it is done",
			wire.ErrBusy, s.cfg.ID, p.ID, p.PartitionsDone, p.Partitions)
	}
	rs.seq++
	// Distinct across restarts (the start instant, in ms, leads) unless two
	// starts share a millisecond; never 0.
	id := uint64(s.started.UnixMilli())<<20 | rs.seq&(1<<20-1)
	if id == 0 {
		id = 1
	}
	rep, err := antientropy.NewRepair(id, len(parts), now)
	if err != nil {
		return nil, err
	}
	rs.recent = append(rs.recent, rep)
	if len(rs.recent) > keepRepairs {
		rs.recent = slices.Delete(rs.recent, 0, len(rs.recent)-keepRepairs)
	}
	rs.wg.Add(1)
	go s.runRepair(rs.ctx, rep, r, parts, whole)
	s.log.Info("repair started", "repair", fmt.Sprintf("%016x", id), "partitions", len(parts), "ring_version", r.Version())
	return &wire.RepairOK{Repair: rep.Progress(now)}, nil
}

// repairScope returns the partitions a repair of asked covers, ascending:
// every partition this node replicates in r when asked is empty, else those
// of asked (repeats dropped), each of which must be in range and replicated
// here, as an exchange's must (checkExchange).
func (s *Server) repairScope(r *ring.Ring, asked []uint32) ([]int, error) {
	if len(asked) == 0 {
		return s.replicated(r), nil
	}
	sorted := slices.Compact(slices.Sorted(slices.Values(asked)))
	parts := make([]int, 0, len(sorted))
	var errs []error
	for _, p := range sorted {
		if err := s.checkExchange(r, p); err != nil {
			errs = append(errs, err)
			continue
		}
		parts = append(parts, int(p))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("storaged: no repair started: %w", errors.Join(errs...))
	}
	return parts, nil
}

// runRepair runs rep's pass over parts on ring r and ends it; a whole-node
// repair that ran to the end is a complete cycle, and records its duration
// as one.
func (s *Server) runRepair(ctx context.Context, rep *antientropy.Repair, r *ring.Ring, parts []int, whole bool) {
	defer s.rep.wg.Done()
	locked := func(f func()) {
		s.rep.mu.Lock()
		defer s.rep.mu.Unlock()
		f()
	}
	x := s.aex
	if testRepairOwnThrottle.Load() {
		x = newAEShared(s.cfg.AntiEntropyRate, s.clock.Now())
	}
	a := &aeRun{s: s, x: x, repaired: func(n uint64) { locked(func() { rep.Repaired(n) }) }}
	// A repair compares whole trees: it waits for the rebuild at start.
	if n := s.trees.notReady(); n > 0 {
		s.log.Info("repair waits for the hash tree rebuild", "partitions_not_ready", n)
	}
	err := s.waitTrees(ctx)
	if err == nil {
		err = a.pass(ctx, r, parts,
			func(p int, peer ring.NodeID, err error) { locked(func() { rep.Exchanged(uint32(p), peer, err) }) },
			func() { locked(rep.PartitionDone) })
	}
	now := s.clock.Now()
	var p wire.RepairProgress
	locked(func() {
		rep.End(now)
		p = rep.Progress(now)
	})
	if err != nil {
		s.log.Info("repair abandoned: the node is stopping", "repair", fmt.Sprintf("%016x", p.ID),
			"partitions_done", p.PartitionsDone, "partitions", p.Partitions)
		return
	}
	if whole {
		s.ae.lastCycleMS.Store(p.TookMS)
	}
	s.log.Info("repair done", "repair", fmt.Sprintf("%016x", p.ID), "partitions", p.Partitions,
		"exchanges", p.Exchanges, "failed", p.Failed, "keys_repaired", p.KeysRepaired, "took_ms", p.TookMS)
}

// repairStatus answers wire.RepairStatus: the progress of the repair asked
// (ID 0: the latest; none yet: the zero progress).
func (s *Server) repairStatus(body []byte) (any, error) {
	var req wire.RepairStatus
	if err := wire.Decode(body, &req); err != nil {
		return nil, err
	}
	rs := &s.rep
	rs.mu.Lock()
	defer rs.mu.Unlock()
	now := s.clock.Now()
	if req.ID == 0 {
		if n := len(rs.recent); n > 0 {
			return &wire.RepairOK{Repair: rs.recent[n-1].Progress(now)}, nil
		}
		return &wire.RepairOK{}, nil
	}
	for _, rep := range rs.recent {
		if rep.ID() == req.ID {
			return &wire.RepairOK{Repair: rep.Progress(now)}, nil
		}
	}
	return nil, fmt.Errorf("%w: node %q holds no repair %016x: it restarted since (a stop abandons a repair), or the repair is older than its last %d",
		wire.ErrBadRequest, s.cfg.ID, req.ID, keepRepairs)
}

// latestRepair is the progress of the latest repair, for status.
func (s *Server) latestRepair() wire.RepairProgress {
	rs := &s.rep
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if n := len(rs.recent); n > 0 {
		return rs.recent[n-1].Progress(s.clock.Now())
	}
	return wire.RepairProgress{}
}

// stopRepairs refuses new repairs, stops a running one and waits for it.
func (s *Server) stopRepairs() {
	rs := &s.rep
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
	rs.cancel()
	rs.wg.Wait()
}
