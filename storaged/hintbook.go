package storaged

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
)

// refusalReportEvery is the most often a refused hinted write is logged per
// owner (refusals come in floods while an owner is away), and the most often
// a read reports skipping an unreadable hint record.
const refusalReportEvery = 10 * time.Second

// hintBook is the in-memory account of the hints a node holds: per owner,
// a hint.Account of the records to deliver, the records kept because they
// cannot be delivered, and the records retained after delivery for their
// actor, rebuilt by a scan of the hints bucket when the node starts; and
// the counters. Safe for concurrent use.
//
// One owner changes the accounts: the store's commit loop. Every write to
// a hint record goes through store.ApplyThen (or CompareAndDeleteThen): its
// function, on the commit loop, admits the write against the policy and
// stages its hint.Delta (stage), so the next writes of the same batch are
// admitted against it too; the then function, on the commit loop once the
// batch's fate is known, commits the delta to the account or drops it. So
// the accounts change in commit order, only for writes that committed, and
// no goroutine accounts a write another has not seen committed. Two
// changes come from elsewhere, under the lock: a record delivery finds
// unreadable is kept in memory only (it cannot carry the durable mark), and
// a delivery sweep settles OldestMS.
//
// OldestMS is approximate in one documented way: it only moves back when a
// complete delivery sweep of the owner's records settles it (endSweep);
// until then, after deliveries, it may be older than the truth, which can
// only make the hint window refuse early, never late. A complete sweep that
// finds no record of an owner empties its pending backlog, whatever it
// said (a safety net: the accounts are exact, so it should never act, and
// it logs when it does).
type hintBook struct {
	log *slog.Logger

	mu       sync.Mutex
	accounts map[ring.NodeID]hint.Account
	// staged holds, per owner, the deltas of the writes of the batch being
	// committed whose then has not run yet. Touched only on the commit
	// loop (under mu all the same, for held's readers).
	staged map[ring.NodeID]*staged
	// sweeps holds, per owner whose records a delivery sweep is scanning,
	// the oldest creation time of the records created since it began.
	sweeps map[ring.NodeID]*sweepNotes
	// undecodable holds the stored keys of the kept records that cannot be
	// decoded: they cannot carry the durable mark, so it is held here
	// (a restart counts them as pending until a sweep finds them again).
	undecodable map[string]struct{}
	refusals    map[ring.NodeID]*refusals
	unreadable  refusals // reads that skipped an unreadable record
	delivered   uint64
	refusedN    uint64
	corrected   uint64 // backlogs a complete sweep found wrong
}

// staged is one owner's deltas awaiting their batch's fate.
type staged struct {
	n   int
	sum hint.Delta
}

// refusals rate-limits the warnings about one kind of event.
type refusals struct {
	last       time.Time
	suppressed int
}

// sweepNotes is what the book notes for a delivery sweep of one owner's
// records.
type sweepNotes struct {
	oldest int64 // of the records created meanwhile, or in flight at its start
	any    bool
}

func (n *sweepNotes) note(sinceMS int64) {
	if !n.any || sinceMS < n.oldest {
		n.oldest, n.any = sinceMS, true
	}
}

func newHintBook(log *slog.Logger) *hintBook {
	return &hintBook{
		log:         log,
		accounts:    make(map[ring.NodeID]hint.Account),
		staged:      make(map[ring.NodeID]*staged),
		sweeps:      make(map[ring.NodeID]*sweepNotes),
		undecodable: make(map[string]struct{}),
		refusals:    make(map[ring.NodeID]*refusals),
	}
}

// load rebuilds the book from the hints bucket, before the book is shared
// (it takes no lock). Records whose key or header cannot be read are left
// out (and reported): they are neither counted nor delivered. Kept records
// are counted as kept.
func (h *hintBook) load(st store.Engine) error {
	bad := 0
	err := st.ForEach(store.Hints, func(k, v []byte) error {
		_, owner, err := hint.ParseKey(k)
		if err != nil {
			bad++
			return nil
		}
		hd, err := hint.DecodeHeader(v)
		if err != nil {
			bad++
			return nil
		}
		d := hint.Created(int64(len(v)), hd.SinceMS)
		switch {
		case hd.Kept:
			d = hint.Delta{KeptKeys: 1, KeptBytes: int64(len(v))}
		case hd.Retained:
			d = hint.Delta{RetainedKeys: 1, RetainedBytes: int64(len(v))}
		}
		h.accounts[owner] = h.accounts[owner].Apply(d)
		return nil
	})
	if bad > 0 {
		h.log.Error("unreadable hint records are ignored", "records", bad)
	}
	return err
}

// backlog returns owner's pending backlog.
func (h *hintBook) backlog(owner ring.NodeID) hint.Backlog {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.accounts[owner].Pending
}

// held returns owner's pending backlog and the summary of its kept
// records, with the deltas staged in the batch being committed: what the
// next write of the batch is admitted against. For the commit loop.
func (h *hintBook) held(owner ring.NodeID) (pending, kept hint.Backlog) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.accounts[owner]
	if st := h.staged[owner]; st != nil {
		a = a.Apply(st.sum)
	}
	return a.Pending, a.Kept
}

// stage stages d, a write's change to owner's records, and returns the
// then function its ApplyThen must return: it commits d to the account if
// the batch committed, and drops it either way from the staged deltas. For
// the commit loop (an ApplyThen function).
func (h *hintBook) stage(owner ring.NodeID, d hint.Delta) func(committed bool) {
	h.mu.Lock()
	st := h.staged[owner]
	if st == nil {
		st = &staged{}
		h.staged[owner] = st
	}
	st.n++
	st.sum = st.sum.Plus(d)
	h.mu.Unlock()
	return func(committed bool) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if st.n--; st.n <= 0 {
			delete(h.staged, owner) // the batch is settled: nothing staged is left
		} else {
			st.sum = st.sum.Plus(d.Neg())
		}
		if committed {
			h.commitLocked(owner, d)
		}
	}
}

// commitLocked applies a committed delta to owner's account; a record that
// became pending is noted by a running sweep, which may have passed it.
func (h *hintBook) commitLocked(owner ring.NodeID, d hint.Delta) {
	a := h.accounts[owner].Apply(d)
	if a.Empty() {
		delete(h.accounts, owner)
	} else {
		h.accounts[owner] = a
	}
	if d.Keys > 0 && d.SinceMS != 0 {
		if sw := h.sweeps[owner]; sw != nil {
			sw.note(d.SinceMS)
		}
	}
}

// removal returns the then function of the delete of a delivered record
// of owner's, of size bytes: once committed, the record leaves the account
// and counts as delivered. For CompareAndDeleteThen.
func (h *hintBook) removal(owner ring.NodeID, size int) func(committed bool) {
	return h.delivery(owner, hint.Removed(int64(size)))
}

// retention returns the then function of the rewrite of a delivered
// record of owner's, of size bytes, as a retained one of retainedSize
// bytes (hint.Record.Retained): once committed, the record leaves the
// backlog for the retained records and counts as delivered. For the
// ApplyThen of the rewrite.
func (h *hintBook) retention(owner ring.NodeID, size, retainedSize int) func(committed bool) {
	return h.delivery(owner, hint.Retained(int64(size), int64(retainedSize)))
}

// eviction returns the then function of the delete of a retained record
// of owner's, of size bytes, over the cap (Server.evictRetained).
func (h *hintBook) eviction(owner ring.NodeID, size int) func(committed bool) {
	return func(committed bool) {
		if !committed {
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.commitLocked(owner, hint.Delta{RetainedKeys: -1, RetainedBytes: -int64(size)})
	}
}

// retainedBytes returns the encoded bytes of the retained records of every
// owner.
func (h *hintBook) retainedBytes() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var n int64
	for _, a := range h.accounts {
		n += max(a.Retained.Bytes, 0)
	}
	return n
}

// delivery returns the then function of a delivered record's change d:
// once committed, d is accounted and the record counts as delivered.
func (h *hintBook) delivery(owner ring.NodeID, d hint.Delta) func(committed bool) {
	return func(committed bool) {
		if !committed {
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.delivered++
		h.commitLocked(owner, d)
	}
}

// keepUndecodable moves the record of owner's stored under stored, of size
// bytes, which cannot be decoded (and so cannot be marked kept on disk),
// from its backlog to its kept records. It reports whether the record was
// not kept already. stored is not retained.
func (h *hintBook) keepUndecodable(owner ring.NodeID, stored []byte, size int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.undecodable[string(stored)]; ok {
		return false
	}
	h.undecodable[string(stored)] = struct{}{}
	h.commitLocked(owner, hint.Kept(size, size))
	return true
}

// isUndecodable reports whether the record stored under stored was kept by
// keepUndecodable.
func (h *hintBook) isUndecodable(stored []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.undecodable[string(stored)]
	return ok
}

// refused counts a refused hinted write and logs it, at most once per
// refusalReportEvery per owner, with the number of refusals not logged.
func (h *hintBook) refused(owner ring.NodeID, err error, now time.Time) {
	h.mu.Lock()
	h.refusedN++
	r := h.refusals[owner]
	if r == nil {
		r = &refusals{}
		h.refusals[owner] = r
	}
	report, suppressed := r.due(now)
	h.mu.Unlock()
	if report {
		h.log.Warn("refusing hints", "owner", owner, "err", err, "refused_unlogged", suppressed)
	}
}

// unreadableRead reports a read that skipped the unreadable hint record
// stored under stored, at most once per refusalReportEvery. stored is not
// retained.
func (h *hintBook) unreadableRead(stored []byte, err error, now time.Time) {
	h.mu.Lock()
	report, suppressed := h.unreadable.due(now)
	h.mu.Unlock()
	if !report {
		return
	}
	key, owner, perr := hint.ParseKey(stored)
	if perr != nil {
		h.log.Error("read skipped an unreadable hint record", "stored_key", fmt.Sprintf("%q", stored), "err", err, "skipped_unlogged", suppressed)
		return
	}
	h.log.Error("read skipped an unreadable hint record", "key", fmt.Sprintf("%q", key), "owner", owner, "err", err, "skipped_unlogged", suppressed)
}

// due reports whether an event at now is to be logged, and how many were
// not since the last one that was.
func (r *refusals) due(now time.Time) (report bool, suppressed int) {
	report = r.last.IsZero() || now.Sub(r.last) >= refusalReportEvery
	suppressed = r.suppressed
	if report {
		r.last, r.suppressed = now, 0
	} else {
		r.suppressed++
	}
	return report, suppressed
}

// pending returns the owners with records, sorted.
func (h *hintBook) pending() []ring.NodeID {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]ring.NodeID, 0, len(h.accounts))
	for o, a := range h.accounts {
		if a.Pending.Keys > 0 {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// beginSweep starts noting the records of owner that become pending while
// a delivery sweep scans the bucket for them. A record committed before it
// is in every snapshot the sweep takes; one committed after is noted.
func (h *hintBook) beginSweep(owner ring.NodeID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweeps[owner] = &sweepNotes{}
}

// endSweep ends the sweep of owner's records. If the scan was complete,
// seen holds the oldest creation time of the records of owner it saw and
// left in place (any false if none); together with the records created
// meanwhile that is every pending record, so it settles the backlog's
// OldestMS, and empties a backlog of which no record was found.
func (h *hintBook) endSweep(owner ring.NodeID, seen sweepNotes, complete bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	created := h.sweeps[owner]
	delete(h.sweeps, owner)
	if !complete || created == nil {
		return
	}
	if created.any {
		seen.note(created.oldest)
	}
	a, ok := h.accounts[owner]
	switch {
	case !ok || a.Pending.Keys <= 0:
	case !seen.any:
		h.corrected++
		h.log.Error("hint backlog corrected: a complete sweep found no record; the accounts were wrong (a bug)", "owner", owner, "keys", a.Pending.Keys, "bytes", a.Pending.Bytes)
		a.Pending = hint.Backlog{}
		if a.Empty() {
			delete(h.accounts, owner)
		} else {
			h.accounts[owner] = a
		}
	default:
		a.Pending = a.Pending.Settle(seen.oldest)
		h.accounts[owner] = a
	}
}

// hintStatus is the book's part of a node's status.
type hintStatus struct {
	owners        []wire.HintOwner
	delivered     uint64
	refused       uint64
	kept          uint64
	retained      uint64
	retainedBytes uint64
	corrected     uint64
}

// status returns the backlogs sorted by owner and the counters.
func (h *hintBook) status() hintStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := hintStatus{delivered: h.delivered, refused: h.refusedN, corrected: h.corrected}
	for o, a := range h.accounts {
		out.kept += uint64(max(a.Kept.Keys, 0))
		out.retained += uint64(max(a.Retained.Keys, 0))
		out.retainedBytes += uint64(max(a.Retained.Bytes, 0))
		if b := a.Pending; b.Keys > 0 {
			out.owners = append(out.owners, wire.HintOwner{Owner: o, Keys: uint64(b.Keys), Bytes: uint64(max(b.Bytes, 0)), OldestMS: b.OldestMS})
		}
	}
	slices.SortFunc(out.owners, func(a, b wire.HintOwner) int { return cmp.Compare(a.Owner, b.Owner) })
	return out
}
