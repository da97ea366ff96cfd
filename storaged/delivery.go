package storaged

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/replica"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/clock"
)

// Hint delivery (paper §4.6: "once [the owner] is detected to have
// recovered, [the fallback] will attempt to deliver the replica"). Each owner
// with pending hints has a worker goroutine of its own, owned by the
// delivery goroutine, so that an owner that is dead or slow (a dial or
// handoff that takes its full timeout) delays only its own records. A worker
// sweeps the hints bucket, HintInterval or its backoff apart, in batches
// copied out of short read transactions, and sends its owner's records as
// Handoff requests, deliveryWindow at a time, under a byte-rate throttle
// shared by all workers. A record whose owner has left the ring, or no
// longer replicates its key, follows the ring instead: it goes to the
// key's current primaries, this node merging it into its own objects if
// it is one (targets). The owner merges and fsyncs before it acks; only then does the
// record leave the backlog, and only if it is byte for byte what was sent (a
// write that merged into it meanwhile keeps it for the next sweep): it is
// deleted, or, if this node coordinated writes in it, retained for its
// actor (retire, hint.Record.Retained, Config.HintRetainBytes). An owner that fails
// backs off (hint.Backoff); the rest of that sweep only takes stock. A record
// the owner refuses for good (it holds other limits, or finds it malformed)
// is marked kept on disk (hint.Record.Kept), unless it changed since it was
// sent, reported once, and taken out of the owner's backlog when that
// commits (hint.Kept); one that cannot be decoded is kept in memory only.
const (
	// batchRecords and batchBytes bound one batch: the records copied out of
	// one read transaction (a batch always takes at least one record).
	batchRecords = 256
	batchBytes   = 8 << 20
	// batchVisits bounds the records one read transaction visits, the other
	// owners' included, so a sweep never holds a long transaction open
	// however many records other owners have.
	batchVisits = 4096
	// handoffTimeout bounds one delivery call, dial included.
	handoffTimeout = 10 * time.Second
)

// pending is one hint record copied out of the store.
type pending struct {
	stored []byte // the record's key in the hints bucket
	key    []byte // the object key (aliases stored)
	value  []byte // the record's bytes, compared before deleting
	rec    hint.Record
}

// deliverer is the state of the delivery goroutine and its workers.
type deliverer struct {
	s *Server

	tmu      sync.Mutex // the throttle is shared by the workers
	throttle *hint.TokenBucket

	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[ring.NodeID]bool // owners with a worker; guarded by mu
}

// worker is the delivery state of one owner, touched only by its goroutine.
type worker struct {
	d         *deliverer
	owner     ring.NodeID
	failures  int
	retryAt   time.Time
	delivered uint64 // records delivered since its backlog was last empty
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
		s:        s,
		throttle: hint.NewTokenBucket(s.cfg.HintRate, s.clock.Now()),
		running:  make(map[ring.NodeID]bool),
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

// run starts a worker for every owner with pending hints that has none,
// HintInterval apart, until ctx ends; then it waits for the workers.
func (d *deliverer) run(ctx context.Context) {
	defer d.wg.Wait()
	t := d.s.clock.NewTicker(d.s.cfg.HintInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		for _, o := range d.s.hints.pending() {
			if !d.deliverable(o) {
				continue
			}
			d.mu.Lock()
			start := !d.running[o]
			d.running[o] = true
			d.mu.Unlock()
			if start {
				w := &worker{d: d, owner: o}
				d.wg.Go(func() {
					w.run(ctx)
					d.mu.Lock()
					delete(d.running, o)
					d.mu.Unlock()
				})
			}
		}
	}
}

// deliverable reports whether owner's records can be delivered: always.
// A record goes to its owner while the owner replicates its key, and
// otherwise follows the ring to the key's current primaries (targets).
func (d *deliverer) deliverable(ring.NodeID) bool { return true }

// targets returns where a record of owner's for key goes under the
// current ring: to the owner while it is a member other than this node and
// among the key's N primaries; otherwise (it left the ring, or no longer
// replicates the key, or it is this node) to the key's primaries, this
// node among them merging the record into its own objects (self). It
// reports whether the record was redirected.
func (d *deliverer) targets(owner ring.NodeID, key []byte) (peers []ring.Node, self, redirected bool) {
	s := d.s
	primaries, _ := s.ring.Load().Preference(key, s.cfg.N)
	for _, n := range primaries {
		if n.ID == owner && owner != s.cfg.ID {
			return []ring.Node{n}, false, false
		}
	}
	for _, n := range primaries {
		if n.ID == s.cfg.ID {
			self = true
		} else {
			peers = append(peers, n)
		}
	}
	return peers, self, true
}

// run sweeps until the owner has no pending record, is no longer
// deliverable, or ctx ends. While the failure detector holds the owner
// dead it waits rather than dialling (Server.alive).
func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil && w.d.s.hints.backlog(w.owner).Keys > 0 && w.d.deliverable(w.owner) {
		if w.d.s.alive(w.owner) {
			w.sweep(ctx)
		}
		wait := max(w.d.s.cfg.HintInterval, w.retryAt.Sub(w.d.s.clock.Now()))
		if sleep(ctx, w.d.s.clock, wait) != nil {
			return
		}
	}
}

// sweep scans the whole bucket for the owner's records and delivers them,
// until the owner fails; after that it only takes stock, so that a complete
// scan can settle the owner's backlog.
func (w *worker) sweep(ctx context.Context) {
	h := w.d.s.hints
	h.beginSweep(w.owner)
	var seen sweepNotes // the records left in place
	complete := false
	defer func() { h.endSweep(w.owner, seen, complete) }()
	deliver := true
	var from []byte
	for ctx.Err() == nil {
		batch, next, err := w.snapshot(from, deliver, &seen)
		if err != nil {
			if !errors.Is(err, store.ErrClosed) {
				w.d.s.log.Error("hint delivery: reading hints", "owner", w.owner, "err", err)
			}
			return
		}
		if deliver {
			deliver = w.deliverAll(ctx, batch, &seen)
		}
		if next == nil {
			complete = ctx.Err() == nil
			return
		}
		from = next
	}
}

// snapshot copies out the owner's records, starting at stored key from, up
// to one batch, visiting at most batchVisits records. Records it does not
// copy out (all of them unless deliver) are noted in seen. Kept records are
// skipped, and records that cannot be decoded are kept. next is where the
// next batch starts, nil at the end of the bucket.
func (w *worker) snapshot(from []byte, deliver bool, seen *sweepNotes) (batch []pending, next []byte, err error) {
	h := w.d.s.hints
	size, visits := 0, 0
	err = w.d.s.st.View(func(v store.View) error {
		next = nil
		return v.Scan(store.Hints, from, nil, func(k, val []byte) bool {
			if visits >= batchVisits || len(batch) >= batchRecords || (len(batch) > 0 && size+len(val) > batchBytes) {
				next = bytes.Clone(k)
				return false
			}
			visits++
			if !bytes.HasSuffix(k, []byte(w.owner)) {
				return true
			}
			if _, owner, err := hint.ParseKey(k); err != nil || owner != w.owner || h.isUndecodable(k) {
				return true // unreadable keys were reported by the startup scan
			}
			hd, err := hint.DecodeHeader(val)
			if err != nil || hd.Kept || hd.Retained {
				return true // not counted by the startup scan either, or not pending
			}
			if !deliver {
				seen.note(hd.SinceMS)
				return true
			}
			rec, err := hint.DecodeRecord(val) // copies what it decodes
			if err != nil {
				if h.keepUndecodable(w.owner, k, int64(len(val))) {
					key, _, _ := hint.ParseKey(k)
					w.d.s.log.Warn("hint delivery: unreadable record kept, not delivered",
						"owner", w.owner, "key", fmt.Sprintf("%q", key), "bytes", len(val), "err", err)
				}
				return true
			}
			stored := bytes.Clone(k)
			key, _, _ := hint.ParseKey(stored)
			batch = append(batch, pending{stored: stored, key: key, value: bytes.Clone(val), rec: rec})
			size += len(val)
			return true
		})
	})
	return batch, next, err
}

// keep marks p's record kept, durably, the owner having refused it for
// good (refusal), and takes it out of the backlog, reporting it; it reports
// whether it did. It does neither if the record changed since it was copied
// out (a write merged into it while it was being sent): the owner refused
// other bytes, and the record stays pending. The decision is made inside
// the commit loop, ordered with the writes, and the book accounts it when
// the batch commits.
func (w *worker) keep(ctx context.Context, p pending, refusal error) bool {
	s, h := w.d.s, w.d.s.hints
	rec := p.rec
	rec.Kept = true
	b, err := hint.EncodeRecord(rec)
	if err != nil {
		s.log.Error("hint delivery: encoding a kept record", "owner", w.owner, "key", fmt.Sprintf("%q", p.key), "err", err)
		return false
	}
	size, keptSize := int64(len(p.value)), int64(len(b))
	kept := false
	err = s.st.ApplyThen(ctx, store.Hints, p.stored, func(old []byte) ([]byte, func(bool), error) {
		if !bytes.Equal(old, p.value) {
			return nil, nil, nil
		}
		kept = true
		return b, h.stage(w.owner, hint.Kept(size, keptSize)), nil
	})
	if err != nil {
		if !errors.Is(err, store.ErrClosed) && ctx.Err() == nil {
			s.log.Error("hint delivery: marking a refused record kept", "owner", w.owner, "key", fmt.Sprintf("%q", p.key), "err", err)
		}
		return false
	}
	if kept {
		s.log.Warn("hint delivery: owner refused a record for good; kept, not retried until it changes",
			"owner", w.owner, "key", fmt.Sprintf("%q", p.key), "bytes", size, "err", refusal)
	}
	return kept
}

// deliveryWindow is how many records a worker has in flight to its owner
// at once: their merges there, and their deletes here, share group commits
// (one at a time, each record cost an fsync on both sides: about 80
// records a second).
var deliveryWindow = 16 // a variable for tests: SetDeliveryWindow

// delivered is the outcome of one record's delivery.
type delivered struct {
	removed, retired bool
	err              error
}

// deliverAll delivers recs, deliveryWindow at a time, and notes the records
// it leaves in seen. It stops after the first window in which a failure
// concerns the owner rather than one record (it cannot be reached, is
// shutting down, or failed to store), backs the owner off and reports
// false.
func (w *worker) deliverAll(ctx context.Context, recs []pending, seen *sweepNotes) bool {
	for start := 0; start < len(recs); start += deliveryWindow {
		win := recs[start:min(start+deliveryWindow, len(recs))]
		outs := make([]delivered, len(win))
		var wg sync.WaitGroup
		for i, p := range win {
			wg.Go(func() { outs[i] = w.deliver(ctx, p) })
		}
		wg.Wait()
		var ownerErr error
		answered, retired := false, false
		for i, o := range outs {
			p := win[i]
			switch {
			case o.err == nil:
				answered = true
				retired = retired || o.retired
				if o.removed {
					w.delivered++
				} else {
					seen.note(p.rec.SinceMS)
				}
			case recordRefused(o.err):
				answered = true
				if !w.keep(ctx, p, o.err) {
					seen.note(p.rec.SinceMS)
				}
			default:
				if ownerErr == nil {
					ownerErr = o.err
				}
				seen.note(p.rec.SinceMS)
			}
		}
		if retired {
			if err := w.d.s.evictRetained(ctx); err != nil && ctx.Err() == nil {
				w.d.s.log.Warn("hint delivery: cannot delete retained records over their cap", "err", err)
			}
		}
		if answered {
			w.succeeded()
		}
		if w.delivered > 0 && w.d.s.hints.backlog(w.owner).Keys <= 0 {
			w.d.s.log.Info("hint backlog drained", "owner", w.owner, "delivered", w.delivered)
			w.delivered = 0
		}
		if ownerErr != nil {
			w.failed(ctx, ownerErr)
			for _, q := range recs[start+len(win):] {
				seen.note(q.rec.SinceMS)
			}
			return false
		}
	}
	return true
}

// deliver sends one record to the owner and, once the owner has it durably,
// removes it from the backlog unless it changed since it was copied: it
// deletes it, or, when the record has an actor of its own (this node
// coordinated writes in it), retains it (retire). Several run at once
// (deliverAll); it touches no worker state.
func (w *worker) deliver(ctx context.Context, p pending) delivered {
	d := w.d
	d.tmu.Lock()
	wait := d.throttle.Reserve(d.s.clock.Now(), len(p.value))
	d.tmu.Unlock()
	if err := sleep(ctx, d.s.clock, wait); err != nil {
		return delivered{err: err}
	}
	peers, self, redirected := d.targets(w.owner, p.key)
	for _, n := range peers {
		cctx, cancel := context.WithTimeout(ctx, handoffTimeout)
		err := d.s.ep.Call(cctx, n.Addr, string(n.ID), &wire.Handoff{Key: p.key, Object: p.rec.Object}, &wire.Ack{})
		cancel()
		if err != nil {
			return delivered{err: err}
		}
	}
	if self {
		if _, err := d.s.merge(ctx, p.key, p.rec.Object, replica.FromNode); err != nil {
			return delivered{err: fmt.Errorf("storaged: merge a hint of %s's into this node's own copy: %w", w.owner, err)}
		}
	}
	// A redirected record's owner no longer holds the key: keeping its
	// actor for that owner's next outage (retire) would serve nothing.
	if p.rec.Epoch != 0 && d.s.cfg.HintRetainBytes > 0 && !redirected {
		removed, err := w.retire(ctx, p)
		return delivered{removed: removed, retired: removed, err: err}
	}
	removed, err := d.s.st.CompareAndDeleteThen(ctx, store.Hints, p.stored, p.value, d.s.hints.removal(w.owner, len(p.value)))
	return delivered{removed: removed, err: err}
}

// retire rewrites p's delivered record as retained (hint.Record.Retained)
// unless it changed since it was copied out, and reports whether it did.
// Deleting it would forget its actor's dots, and the next outage's first
// write would need a fresh actor (hint.MintEpoch): one more entry in the
// key's clock per outage, until writes of the key are refused
// (wire.Limits.MaxContext). Retained, the record keeps the actor and every
// dot it issued, so the clock gains one actor per fallback and owner
// however many outages the key goes through. What it costs is the
// record's bytes, kept on this node.
func (w *worker) retire(ctx context.Context, p pending) (bool, error) {
	h := w.d.s.hints
	rec := p.rec
	rec.Retained, rec.Kept = true, false
	b, err := hint.EncodeRecord(rec)
	if err != nil {
		return false, err
	}
	retired := false
	err = w.d.s.st.ApplyThen(ctx, store.Hints, p.stored, func(old []byte) ([]byte, func(bool), error) {
		if !bytes.Equal(old, p.value) {
			return nil, nil, nil // a write merged into it meanwhile: still pending
		}
		retired = true
		return b, h.retention(w.owner, len(p.value), len(b)), nil
	})
	return retired && err == nil, err
}

// succeeded resets the owner's backoff after a successful delivery call.
func (w *worker) succeeded() {
	if w.failures > 0 {
		w.d.s.log.Info("hint delivery resumed", "owner", w.owner, "after_failures", w.failures)
	}
	w.failures, w.retryAt = 0, time.Time{}
}

// failed backs the owner off after a failed delivery.
func (w *worker) failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // shutting down: not the owner's fault
	}
	w.failures++
	backoff := hint.Backoff(w.failures)
	w.retryAt = w.d.s.clock.Now().Add(backoff)
	if w.failures == 1 {
		w.d.s.log.Info("hint delivery failing; backing off", "owner", w.owner, "retry_in", backoff, "err", err)
	} else {
		w.d.s.log.Debug("hint delivery failing; backing off", "owner", w.owner, "failures", w.failures, "retry_in", backoff, "err", err)
	}
}

// recordRefused reports an error answer about the record itself (the owner
// holds other limits, or finds it malformed: wire.ClassRecordRefused):
// retrying will not help, but the owner's other records may go.
func recordRefused(err error) bool {
	return wire.ClassOf(err) == wire.ClassRecordRefused
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, c clock.Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// evictRetained deletes the oldest retained hint records (by the time they
// last became pending) while they hold more than 3/4 of HintRetainBytes,
// once they hold more than it (Config.HintRetainBytes). It scans the hints
// bucket, so it runs only past the cap and leaves room below it. A record
// written meanwhile is not deleted (its bytes changed): it is pending
// again.
func (s *Server) evictRetained(ctx context.Context) error {
	limit := s.cfg.HintRetainBytes
	if s.hints.retainedBytes() <= limit {
		return nil
	}
	type retained struct {
		stored, value []byte
		owner         ring.NodeID
		since         int64
	}
	var all []retained
	err := s.st.View(func(v store.View) error {
		return v.Scan(store.Hints, nil, nil, func(k, val []byte) bool {
			hd, err := hint.DecodeHeader(val)
			if err != nil || !hd.Retained {
				return true
			}
			if _, owner, err := hint.ParseKey(k); err == nil {
				all = append(all, retained{stored: bytes.Clone(k), value: bytes.Clone(val), owner: owner, since: hd.SinceMS})
			}
			return true
		})
	})
	if err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b retained) int {
		return cmp.Or(cmp.Compare(a.since, b.since), bytes.Compare(a.stored, b.stored))
	})
	evicted := 0
	for _, r := range all {
		if s.hints.retainedBytes() <= limit*3/4 {
			break
		}
		ok, err := s.st.CompareAndDeleteThen(ctx, store.Hints, r.stored, r.value, s.hints.eviction(r.owner, len(r.value)))
		if err != nil {
			return err
		}
		if ok {
			evicted++
		}
	}
	s.log.Info("retained hint records over their cap: the oldest deleted", "deleted", evicted, "cap_bytes", limit)
	return nil
}
