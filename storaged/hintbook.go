package storaged

import (
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
// owner: refusals come in floods while an owner is away.
const refusalReportEvery = 10 * time.Second

// hintBook is the in-memory account of the hints a node holds: a
// hint.Backlog per owner, rebuilt by a scan of the hints bucket when the
// node starts and kept up to date as writes and deliveries commit, and the
// delivered and refused counters. Safe for concurrent use.
//
// It is approximate in two documented ways. Admission checks a write against
// the backlog as of the last committed writes, so the writes of one commit
// batch can together overshoot a cap by up to the batch. OldestMS only
// moves back when a delivery pass has seen every pending record (sweep);
// until then, after deliveries, it may be older than the truth, which can
// only make the hint window refuse early, never late.
type hintBook struct {
	log *slog.Logger

	mu     sync.Mutex
	owners map[string]hint.Backlog
	// sweep, while a delivery pass scans the bucket, holds the oldest
	// creation time of the records created since the scan began, per owner.
	sweep     map[string]int64
	refusals  map[string]*refusals
	delivered uint64
	refusedN  uint64
}

// refusals rate-limits the warnings about one owner's refused hints.
type refusals struct {
	last       time.Time
	suppressed int
}

func newHintBook(log *slog.Logger) *hintBook {
	return &hintBook{log: log, owners: make(map[string]hint.Backlog), refusals: make(map[string]*refusals)}
}

// load rebuilds the book from the hints bucket, before the book is shared
// (it takes no lock). Records whose key or header cannot be read are left
// out (and reported): they are neither counted nor delivered.
func (h *hintBook) load(st *store.Store) error {
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
		h.owners[owner] = h.owners[owner].Added(true, int64(len(v)), hd.SinceMS)
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

// added accounts a durable hinted write.
func (h *hintBook) added(owner string, ch hintChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.owners[owner] = h.owners[owner].Added(ch.created, ch.grow, ch.sinceMS)
	if ch.created && h.sweep != nil {
		if m, ok := h.sweep[owner]; !ok || ch.sinceMS < m {
			h.sweep[owner] = ch.sinceMS
		}
	}
}

// removed accounts a delivered record of size bytes, deleted durably, and
// reports whether owner's backlog is now empty.
func (h *hintBook) removed(owner string, size int) (drained bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delivered++
	b := h.owners[owner].Removed(int64(size))
	if b.Keys == 0 {
		delete(h.owners, owner)
		return true
	}
	h.owners[owner] = b
	return false
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
	report := r.last.IsZero() || now.Sub(r.last) >= refusalReportEvery
	suppressed := r.suppressed
	if report {
		r.last, r.suppressed = now, 0
	} else {
		r.suppressed++
	}
	h.mu.Unlock()
	if report {
		h.log.Warn("refusing hints", "owner", owner, "err", err, "refused_unlogged", suppressed)
	}
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

// beginSweep starts tracking the records created while a delivery pass
// scans the whole bucket.
func (h *hintBook) beginSweep() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweep = make(map[string]int64)
}

// endSweep ends the tracking. If the scan was complete, seen holds, per
// owner, the oldest creation time of the records it saw and left in place;
// together with the records created meanwhile that is every pending record,
// so it settles each backlog's OldestMS.
func (h *hintBook) endSweep(seen map[string]int64, complete bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	created := h.sweep
	h.sweep = nil
	if !complete {
		return
	}
	for o, b := range h.owners {
		oldest := int64(0)
		for _, m := range []map[string]int64{seen, created} {
			if t, ok := m[o]; ok && (oldest == 0 || t < oldest) {
				oldest = t
			}
		}
		h.owners[o] = b.Settle(oldest)
	}
}

// hintStatus is the book's part of a node's status.
type hintStatus struct {
	owners    []wire.HintOwner
	delivered uint64
	refused   uint64
}

// status returns the backlogs sorted by owner and the counters.
func (h *hintBook) status() hintStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := hintStatus{delivered: h.delivered, refused: h.refusedN}
	for o, b := range h.owners {
		out.owners = append(out.owners, wire.HintOwner{Owner: o, Keys: uint64(max(b.Keys, 0)), Bytes: uint64(max(b.Bytes, 0)), OldestMS: b.OldestMS})
	}
	slices.SortFunc(out.owners, func(a, b wire.HintOwner) int { return strings.Compare(a.Owner, b.Owner) })
	return out
}
