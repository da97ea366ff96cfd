package storaged

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
)

// Hint delivery (paper §4.6: "once [the owner] is detected to have
// recovered, [the fallback] will attempt to deliver the replica"). One
// goroutine, owned by the Server, runs passes HintInterval apart. A pass
// walks the whole hints bucket in bounded batches copied out of the store;
// each batch's records are grouped by owner and sent, one owner per worker,
// as Handoff requests. The owner merges and fsyncs before it acks; only then
// is the record deleted, and only if it is byte for byte what was sent: a
// write that merged into it meanwhile keeps it for the next pass. Owners that
// fail back off (hint.Backoff) and are skipped until their backoff ends.
const (
	// batchRecords and batchBytes bound one batch: the records copied out of
	// one read transaction (a batch always takes at least one record).
	batchRecords = 256
	batchBytes   = 8 << 20
	// deliveryWorkers bounds the owners a batch delivers to at once, so a
	// dead owner's slow call does not hold up the others.
	deliveryWorkers = 4
	// handoffTimeout bounds one delivery call, dial included.
	handoffTimeout = 10 * time.Second
)

// pending is one hint record copied out of the store.
type pending struct {
	stored []byte // the record's key in the hints bucket
	key    []byte // the object key (aliases stored)
	owner  string
	value  []byte // the record's bytes, compared before deleting
	rec    hint.Record
}

// ownerState is the delivery loop's memory of one owner.
type ownerState struct {
	failures  int
	retryAt   time.Time
	delivered uint64 // records delivered since its backlog was last empty
}

// deliverer is the state of the delivery goroutine.
type deliverer struct {
	s *Server

	tmu      sync.Mutex // the throttle is shared by a batch's workers
	throttle *hint.TokenBucket

	owners map[string]*ownerState // touched by one worker per owner at a time
	// unreadable holds the stored keys of records that failed to decode,
	// reported once each; they stay in place for an operator to look at.
	unreadable map[string]struct{}
}

// startDelivery starts the delivery goroutine unless the server is closed or
// it runs already. Close stops it.
func (s *Server) startDelivery() error {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if s.closed.Load() {
		return errors.New("storaged: server is closed")
	}
	if s.deliverDone != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.deliverStop, s.deliverDone = cancel, make(chan struct{})
	d := &deliverer{
		s:          s,
		throttle:   hint.NewTokenBucket(s.cfg.HintRate, time.Now()),
		owners:     make(map[string]*ownerState),
		unreadable: make(map[string]struct{}),
	}
	go func() {
		defer close(s.deliverDone)
		d.run(ctx)
	}()
	return nil
}

// stopDelivery stops the delivery goroutine, if it runs, and waits for it.
func (s *Server) stopDelivery() {
	s.deliverMu.Lock()
	stop, done := s.deliverStop, s.deliverDone
	s.deliverMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// run makes delivery passes until ctx ends.
func (d *deliverer) run(ctx context.Context) {
	t := time.NewTimer(d.s.cfg.HintInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.pass(ctx)
		t.Reset(d.s.cfg.HintInterval)
	}
}

// pass tries to deliver every pending record of every owner that is not
// backing off. It does nothing when no such owner has records.
func (d *deliverer) pass(ctx context.Context) {
	if !slices.ContainsFunc(d.s.hints.pending(), func(o string) bool { return d.ready(o, time.Now()) }) {
		return
	}
	d.s.hints.beginSweep()
	seen := make(map[string]int64) // oldest creation time of the records left in place
	complete := false
	defer func() { d.s.hints.endSweep(seen, complete) }()
	var from []byte
	for ctx.Err() == nil {
		batch, next, err := d.snapshot(from, seen)
		if err != nil {
			if !errors.Is(err, store.ErrClosed) {
				d.s.log.Error("hint delivery: reading hints", "err", err)
			}
			return
		}
		d.deliverBatch(ctx, batch, seen)
		if next == nil {
			complete = ctx.Err() == nil
			return
		}
		from = next
	}
}

// snapshot copies out the records of owners ready for delivery, starting at
// stored key from, up to one batch. It notes the creation time of the
// records it leaves (owners backing off) in seen. next is where the next
// batch starts, nil at the end of the bucket.
func (d *deliverer) snapshot(from []byte, seen map[string]int64) (batch []pending, next []byte, err error) {
	now := time.Now()
	size := 0
	err = d.s.st.View(func(v *store.View) error {
		next = nil
		return v.Scan(store.Hints, from, nil, func(k, val []byte) bool {
			if len(batch) >= batchRecords || (len(batch) > 0 && size+len(val) > batchBytes) {
				next = bytes.Clone(k)
				return false
			}
			_, owner, err := hint.ParseKey(k)
			if err != nil {
				return true // reported by the startup scan; never delivered
			}
			if !d.ready(owner, now) {
				if h, err := hint.DecodeHeader(val); err == nil {
					noteOldest(seen, owner, h.SinceMS)
				}
				return true
			}
			rec, err := hint.DecodeRecord(val) // copies what it decodes
			if err != nil {
				d.reportUnreadable(k, owner, err)
				return true
			}
			stored := bytes.Clone(k)
			key, _, _ := hint.ParseKey(stored)
			batch = append(batch, pending{stored: stored, key: key, owner: owner, value: bytes.Clone(val), rec: rec})
			size += len(val)
			return true
		})
	})
	return batch, next, err
}

// reportUnreadable logs, once per record, a record that cannot be decoded.
func (d *deliverer) reportUnreadable(stored []byte, owner string, err error) {
	if _, ok := d.unreadable[string(stored)]; ok {
		return
	}
	d.unreadable[string(stored)] = struct{}{}
	d.s.log.Error("hint delivery: unreadable record kept, not delivered", "owner", owner, "stored_key", stored, "err", err)
}

// ready reports whether owner may be sent hints now: a member of the ring,
// not this node, and not backing off. Only the pass's goroutine calls it.
func (d *deliverer) ready(owner string, now time.Time) bool {
	if owner == d.s.cfg.ID {
		return false
	}
	if _, ok := d.s.ring.Load().Node(ring.NodeID(owner)); !ok {
		return false // kept: a ring change may bring it back, anti-entropy covers the rest
	}
	st := d.owners[owner]
	return st == nil || !now.Before(st.retryAt)
}

// deliverBatch delivers a batch's records, owner by owner, up to
// deliveryWorkers owners at once, and notes the creation times of those it
// had to leave in seen.
func (d *deliverer) deliverBatch(ctx context.Context, batch []pending, seen map[string]int64) {
	byOwner := make(map[string][]pending)
	for _, p := range batch {
		byOwner[p.owner] = append(byOwner[p.owner], p)
	}
	owners := make([]string, 0, len(byOwner))
	for o := range byOwner {
		owners = append(owners, o)
		if d.owners[o] == nil {
			d.owners[o] = &ownerState{}
		}
	}
	slices.Sort(owners)
	left := make([][]int64, len(owners)) // per owner: creation times of records left
	sem := make(chan struct{}, deliveryWorkers)
	var wg sync.WaitGroup
	for i, o := range owners {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			left[i] = d.deliverOwner(ctx, o, d.owners[o], byOwner[o])
		})
	}
	wg.Wait()
	for i, o := range owners {
		for _, t := range left[i] {
			noteOldest(seen, o, t)
		}
	}
}

// deliverOwner delivers recs, all meant for owner, in order. It stops at the
// first failure that concerns the owner rather than one record (it cannot be
// reached, is shutting down, or failed to store), and backs the owner off.
// It returns the creation times of the records it did not delete.
func (d *deliverer) deliverOwner(ctx context.Context, owner string, st *ownerState, recs []pending) (left []int64) {
	node, ok := d.s.ring.Load().Node(ring.NodeID(owner))
	for i, p := range recs {
		if !ok || ctx.Err() != nil {
			left = append(left, p.rec.SinceMS)
			continue
		}
		deleted, err := d.deliver(ctx, node, st, p)
		switch {
		case err == nil:
			if !deleted {
				left = append(left, p.rec.SinceMS)
			}
			d.succeeded(owner, st)
		case recordRefused(err):
			d.s.log.Warn("hint delivery: owner refused a record; kept", "owner", owner, "key", p.key, "err", err)
			left = append(left, p.rec.SinceMS)
		default:
			d.failed(ctx, owner, st, err)
			for _, q := range recs[i:] {
				left = append(left, q.rec.SinceMS)
			}
			return left
		}
	}
	return left
}

// deliver sends one record to its owner and, once the owner has it durably,
// deletes it unless it changed since it was copied. It reports whether it
// deleted the record.
func (d *deliverer) deliver(ctx context.Context, node ring.Node, st *ownerState, p pending) (bool, error) {
	d.tmu.Lock()
	wait := d.throttle.Reserve(time.Now(), len(p.value))
	d.tmu.Unlock()
	if err := sleep(ctx, wait); err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, handoffTimeout)
	err := d.s.ep.Call(cctx, node.Addr, string(node.ID), &wire.Handoff{Key: p.key, Object: p.rec.Object}, &wire.Ack{})
	cancel()
	if err != nil {
		return false, err
	}
	deleted, err := d.s.st.CompareAndDelete(ctx, store.Hints, p.stored, p.value)
	if err != nil || !deleted {
		return false, err
	}
	st.delivered++
	if d.s.hints.removed(p.owner, len(p.value)) {
		d.s.log.Info("hint backlog drained", "owner", p.owner, "delivered", st.delivered)
		st.delivered = 0
	}
	return true, nil
}

// succeeded resets owner's backoff after a successful delivery call.
func (d *deliverer) succeeded(owner string, st *ownerState) {
	if st.failures > 0 {
		d.s.log.Info("hint delivery resumed", "owner", owner, "after_failures", st.failures)
	}
	st.failures, st.retryAt = 0, time.Time{}
}

// failed backs owner off after a failed delivery.
func (d *deliverer) failed(ctx context.Context, owner string, st *ownerState, err error) {
	if ctx.Err() != nil {
		return // shutting down: not the owner's fault
	}
	st.failures++
	backoff := hint.Backoff(st.failures)
	st.retryAt = time.Now().Add(backoff)
	if st.failures == 1 {
		d.s.log.Info("hint delivery failing; backing off", "owner", owner, "retry_in", backoff, "err", err)
	} else {
		d.s.log.Debug("hint delivery failing; backing off", "owner", owner, "failures", st.failures, "retry_in", backoff, "err", err)
	}
}

// recordRefused reports an error answer about the record itself (the owner
// holds other limits, or finds it malformed): retrying will not help, but
// the owner's other records may go.
func recordRefused(err error) bool {
	var re *wire.RemoteError
	return errors.As(err, &re) && (re.Code == wire.CodeBadRequest || re.Code == wire.CodeTooLarge)
}

// noteOldest lowers seen[owner] to t.
func noteOldest(seen map[string]int64, owner string, t int64) {
	if m, ok := seen[owner]; !ok || t < m {
		seen[owner] = t
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
