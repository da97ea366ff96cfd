package storaged

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
)

// refusalReportEvery is the most often a refused hinted write is logged per
// owner (refusals come in floods while an owner is away), and the most often
// a read reports skipping an unreadable hint record.
const refusalReportEvery = 10 * time.Second

// hintBook is the in-memory account of the hints a node holds: per owner, a
// hint.Backlog of the records to deliver and one of the records kept
// because they cannot be delivered, rebuilt by a scan of the hints bucket
// when the node starts and kept up to date as writes, deliveries and keeps
// commit; and the counters. Safe for concurrent use.
//
// Writes are accounted inside the store's commit loop, before their commit
// (account), and taken back if the commit then fails (settle). A delivery
// deletes a record only after seeing it in a snapshot, so after its commit,
// so a removal is always accounted after the write that created the record:
// the counts cannot drift. A record is kept (hint.Record.Kept) inside the
// commit loop as well (keep), so a write that un-keeps it is ordered with
// it. Admission checks a write against the backlog including the writes
// ahead of it in its commit batch.
//
// OldestMS is approximate in one documented way: it only moves back when a
// complete delivery sweep of the owner's records settles it (endSweep);
// until then, after deliveries, it may be older than the truth, which can
// only make the hint window refuse early, never late. A complete sweep that
// finds no record of an owner empties its backlog, whatever it said.
type hintBook struct {
	log *slog.Logger

	mu     sync.Mutex
	owners map[string]hint.Backlog
	// flight holds, per owner, the writes accounted inside the commit loop
	// whose Apply has not returned yet.
	flight map[string]*flight
	// sweeps holds, per owner whose records a delivery sweep is scanning,
	// the oldest creation time of the records created since it began.
	sweeps map[string]*sweepNotes
	// kept summarises, per owner, the records delivery gave up on for good
	// (the owner refused them, or they cannot be decoded). They stay in the
	// bucket for an operator but are out of their owner's backlog: they
	// neither hold the hint window nor keep delivery busy, but count toward
	// the caps. A write that merges new data into a refused one makes it
	// pending again. OldestMS is not used.
	kept map[string]hint.Backlog
	// undecodable holds the stored keys of the kept records that cannot be
	// decoded: they cannot carry the durable mark, so it is held here
	// (a restart counts them as pending until a sweep finds them again).
	undecodable map[string]struct{}
	refusals    map[string]*refusals
	unreadable  refusals // reads that skipped an unreadable record
	delivered   uint64
	refusedN    uint64
}

// refusals rate-limits the warnings about one kind of event.
type refusals struct {
	last       time.Time
	suppressed int
}

// flight is one owner's writes in flight: their number, and the creation
// times of the records they create (a multiset).
type flight struct {
	writes  int
	created map[int64]int
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
		owners:      make(map[string]hint.Backlog),
		flight:      make(map[string]*flight),
		sweeps:      make(map[string]*sweepNotes),
		kept:        make(map[string]hint.Backlog),
		undecodable: make(map[string]struct{}),
		refusals:    make(map[string]*refusals),
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
		if hd.Kept {
			h.kept[owner] = h.kept[owner].Added(true, int64(len(v)), 0)
		} else {
			h.owners[owner] = h.owners[owner].Added(true, int64(len(v)), hd.SinceMS)
		}
		return nil
	})
	if bad > 0 {
		h.log.Error("unreadable hint records are ignored", "records", bad)
	}
	return err
}

// backlog returns owner's backlog.
func (h *hintBook) backlog(owner string) hint.Backlog {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.owners[owner]
}

// held returns owner's backlog and the summary of its kept records.
func (h *hintBook) held(owner string) (pending, kept hint.Backlog) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.owners[owner], h.kept[owner]
}

// account accounts a hinted write of owner's. It runs inside the commit
// loop, once per write, before the write commits; settle must follow once
// Apply returns. A write that un-keeps a record adds it to the backlog like
// a creation, noted by a running sweep, which may have passed it already.
func (h *hintBook) account(owner string, ch hintChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch.kept > 0 {
		h.setKept(owner, h.kept[owner].Removed(ch.kept))
		h.owners[owner] = h.owners[owner].Added(true, ch.kept+ch.grow, ch.sinceMS)
	} else {
		h.owners[owner] = h.owners[owner].Added(ch.created, ch.grow, ch.sinceMS)
	}
	f := h.flight[owner]
	if f == nil {
		f = &flight{created: make(map[int64]int)}
		h.flight[owner] = f
	}
	f.writes++
	if ch.adds() {
		f.created[ch.sinceMS]++
		if sw := h.sweeps[owner]; sw != nil {
			sw.note(ch.sinceMS)
		}
	}
}

// settle ends the flight of a write accounted by account, whose Apply
// returned; committed false takes the write back (it was not made durable).
func (h *hintBook) settle(owner string, ch hintChange, committed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.flight[owner]; f != nil {
		if f.writes--; f.writes <= 0 {
			delete(h.flight, owner)
		} else if ch.adds() {
			if f.created[ch.sinceMS]--; f.created[ch.sinceMS] <= 0 {
				delete(f.created, ch.sinceMS)
			}
		}
	}
	if committed {
		return
	}
	b := h.owners[owner]
	switch {
	case ch.kept > 0:
		b = b.Removed(ch.kept + ch.grow)
		h.kept[owner] = h.kept[owner].Added(true, ch.kept, 0)
	case ch.created:
		b = b.Removed(ch.grow)
	default:
		b.Bytes -= ch.grow
	}
	h.setBacklog(owner, b)
}

// setKept stores k as the summary of owner's kept records, forgetting an
// empty one.
func (h *hintBook) setKept(owner string, k hint.Backlog) {
	if k.Keys <= 0 {
		delete(h.kept, owner)
		return
	}
	h.kept[owner] = k
}

// setBacklog stores b as owner's backlog, forgetting an empty one.
func (h *hintBook) setBacklog(owner string, b hint.Backlog) {
	if b.Keys <= 0 {
		delete(h.owners, owner)
		return
	}
	h.owners[owner] = b
}

// removed accounts a delivered record of size bytes, deleted durably, and
// reports whether owner's backlog is now empty.
func (h *hintBook) removed(owner string, size int) (drained bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delivered++
	b := h.owners[owner].Removed(int64(size))
	h.setBacklog(owner, b)
	return b.Keys <= 0
}

// keep moves a record of owner's, of size bytes, from its backlog to its
// kept records, where it takes keptSize bytes (its encoding with the kept
// mark). It runs inside the commit loop, in the Apply that marks the record
// kept, so it is ordered with account; unkeep takes it back if that write
// does not commit.
func (h *hintBook) keep(owner string, size, keptSize int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setBacklog(owner, h.owners[owner].Removed(size))
	h.kept[owner] = h.kept[owner].Added(true, keptSize, 0)
}

// unkeep takes back a keep whose write did not commit: the record, of size
// bytes and created at sinceMS, is pending again.
func (h *hintBook) unkeep(owner string, size, keptSize, sinceMS int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setKept(owner, h.kept[owner].Removed(keptSize))
	h.owners[owner] = h.owners[owner].Added(true, size, sinceMS)
}

// keepUndecodable moves the record of owner's stored under stored, of size
// bytes, which cannot be decoded (and so cannot be marked kept), from its
// backlog to its kept records. It reports whether the record was not kept
// already. stored is not retained.
func (h *hintBook) keepUndecodable(owner string, stored []byte, size int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.undecodable[string(stored)]; ok {
		return false
	}
	h.undecodable[string(stored)] = struct{}{}
	h.setBacklog(owner, h.owners[owner].Removed(size))
	h.kept[owner] = h.kept[owner].Added(true, size, 0)
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
func (h *hintBook) refused(owner string, err error, now time.Time) {
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
func (h *hintBook) pending() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.owners))
	for o, b := range h.owners {
		if b.Keys > 0 {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// beginSweep starts noting the records of owner created while a delivery
// sweep scans the bucket for them, starting with those in flight.
func (h *hintBook) beginSweep(owner string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sw := &sweepNotes{}
	if f := h.flight[owner]; f != nil {
		for t := range f.created {
			sw.note(t)
		}
	}
	h.sweeps[owner] = sw
}

// endSweep ends the sweep of owner's records. If the scan was complete,
// seen holds the oldest creation time of the records of owner it saw and
// left in place (any false if none); together with the records created
// meanwhile that is every pending record, so it settles the backlog's
// OldestMS, and empties a backlog of which no record was found.
func (h *hintBook) endSweep(owner string, seen sweepNotes, complete bool) {
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
	b, ok := h.owners[owner]
	switch {
	case !ok:
	case !seen.any:
		delete(h.owners, owner)
		h.log.Warn("hint backlog corrected: a complete sweep found no record", "owner", owner, "keys", b.Keys, "bytes", b.Bytes)
	default:
		h.owners[owner] = b.Settle(seen.oldest)
	}
}

// hintStatus is the book's part of a node's status.
type hintStatus struct {
	owners    []wire.HintOwner
	delivered uint64
	refused   uint64
	kept      uint64
}

// status returns the backlogs sorted by owner and the counters.
func (h *hintBook) status() hintStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := hintStatus{delivered: h.delivered, refused: h.refusedN}
	for _, k := range h.kept {
		out.kept += uint64(max(k.Keys, 0))
	}
	for o, b := range h.owners {
		out.owners = append(out.owners, wire.HintOwner{Owner: o, Keys: uint64(max(b.Keys, 0)), Bytes: uint64(max(b.Bytes, 0)), OldestMS: b.OldestMS})
	}
	slices.SortFunc(out.owners, func(a, b wire.HintOwner) int { return strings.Compare(a.Owner, b.Owner) })
	return out
}
