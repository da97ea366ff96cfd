package storaged

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire/dvv"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestHintBookRemovalBeforeSettle: a write is accounted inside the commit
// loop, so a delivery that deletes the record before the writer's Apply
// returns (the writer descheduled) leaves no phantom record behind.
func TestHintBookRemovalBeforeSettle(t *testing.T) {
	b := newHintBook(discardLogger())
	ch := hintChange{written: true, created: true, grow: 120, sinceMS: time.Now().Add(-4 * time.Hour).UnixMilli()}
	b.account("n2", ch)               // in the commit loop
	if b.removed("n2", 120) != true { // delivery: snapshot, handoff, delete
		t.Errorf("removing the only record did not drain the backlog")
	}
	b.settle("n2", ch, true) // the writer's Apply returns at last
	if p := b.pending(); len(p) != 0 {
		t.Fatalf("bucket empty but the book lists %v, backlog %+v", p, b.backlog("n2"))
	}
	pol := hint.Policy{Window: 3 * time.Hour}
	if err := pol.Admit("n2", b.backlog("n2"), hint.Backlog{}, hint.Write{New: true, Grow: 100}, time.Now()); err != nil {
		t.Errorf("a new hint is refused: %v", err)
	}

	// A write that fails to commit is taken back.
	b.account("n2", ch)
	b.settle("n2", ch, false)
	if bl := b.backlog("n2"); bl != (hint.Backlog{}) {
		t.Errorf("after a write that did not commit: %+v, want empty", bl)
	}
}

// TestHintBookSweepCorrects: a complete sweep that finds no record of an
// owner empties its backlog, however it drifted; an incomplete sweep, or
// records created during the sweep, do not.
func TestHintBookSweepCorrects(t *testing.T) {
	old := time.Now().Add(-4 * time.Hour).UnixMilli()
	phantom := hint.Backlog{Keys: 1, Bytes: 120, OldestMS: old}

	b := newHintBook(discardLogger())
	b.owners["n2"] = phantom
	b.beginSweep("n2")
	b.endSweep("n2", sweepNotes{}, false)
	if got := b.backlog("n2"); got != phantom {
		t.Errorf("incomplete sweep changed the backlog: %+v", got)
	}
	b.beginSweep("n2")
	b.endSweep("n2", sweepNotes{}, true)
	if got := b.backlog("n2"); got != (hint.Backlog{}) || len(b.pending()) != 0 {
		t.Errorf("complete sweep that found nothing: backlog %+v, pending %v; want empty", got, b.pending())
	}

	// A record created while the sweep ran (after the scan passed its key)
	// is pending: the backlog stays, settled to it.
	b.owners["n2"] = phantom
	b.beginSweep("n2")
	now := time.Now().UnixMilli()
	ch := hintChange{written: true, created: true, grow: 50, sinceMS: now}
	b.account("n2", ch)
	b.settle("n2", ch, true)
	b.endSweep("n2", sweepNotes{}, true)
	if got := b.backlog("n2"); got.Keys != 2 || got.OldestMS != now {
		t.Errorf("sweep with a record created meanwhile: %+v, want 2 keys, oldest %d", got, now)
	}

	// A creation in flight when the sweep begins counts as well: its commit
	// may come after the scan passed its key.
	b = newHintBook(discardLogger())
	b.account("n2", ch)
	b.beginSweep("n2")
	b.endSweep("n2", sweepNotes{}, true)
	b.settle("n2", ch, true)
	if got := b.backlog("n2"); got.Keys != 1 || got.OldestMS != now {
		t.Errorf("sweep that began with a creation in flight: %+v, want it kept", got)
	}
}

// TestHintBookKept: a record delivery gives up on leaves the backlog (and so
// the hint window) but is counted, toward the caps too; a write that changes
// it brings it back, and a keep that fails to commit is taken back.
func TestHintBookKept(t *testing.T) {
	b := newHintBook(discardLogger())
	old := time.Now().Add(-4 * time.Hour).UnixMilli()
	create := hintChange{written: true, created: true, grow: 100, sinceMS: old}
	b.account("n2", create)
	b.settle("n2", create, true)
	b.keep("n2", 100, 101)
	if bl, st := b.backlog("n2"), b.status(); bl != (hint.Backlog{}) || st.kept != 1 {
		t.Fatalf("after keep: backlog %+v, kept %d", bl, st.kept)
	}
	if p, k := b.held("n2"); p != (hint.Backlog{}) || k.Keys != 1 || k.Bytes != 101 {
		t.Fatalf("after keep: held %+v, %+v; want the kept record's 101 bytes", p, k)
	}
	now := time.Now().UnixMilli()
	unkeep := hintChange{written: true, kept: 101, grow: 9, sinceMS: now}
	b.account("n2", unkeep)
	b.settle("n2", unkeep, true)
	if bl, st := b.backlog("n2"), b.status(); bl != (hint.Backlog{Keys: 1, Bytes: 110, OldestMS: now}) || st.kept != 0 {
		t.Errorf("after a write to the kept record: backlog %+v, kept %d; want it back", bl, st.kept)
	}

	// Taken back: a keep whose write failed, an un-keeping write that failed.
	b.keep("n2", 110, 111)
	b.unkeep("n2", 110, 111, now)
	if p, k := b.held("n2"); p != (hint.Backlog{Keys: 1, Bytes: 110, OldestMS: now}) || k != (hint.Backlog{}) {
		t.Errorf("after a keep taken back: held %+v, %+v", p, k)
	}
	b.keep("n2", 110, 111)
	unkeep = hintChange{written: true, kept: 111, grow: -1, sinceMS: now}
	b.account("n2", unkeep)
	b.settle("n2", unkeep, false)
	if p, k := b.held("n2"); p != (hint.Backlog{}) || k.Keys != 1 || k.Bytes != 111 {
		t.Errorf("after an un-keeping write that did not commit: held %+v, %+v; want it kept", p, k)
	}
}

// TestHintBookUnkeptDuringSweep: a write that un-keeps a record while a
// delivery sweep runs (after the scan passed the record) is noted like a
// creation, so the sweep that found no pending record does not empty the
// backlog and the record is delivered.
func TestHintBookUnkeptDuringSweep(t *testing.T) {
	warnings := 0
	b := newHintBook(slog.New(&attrRecorder{fn: func(r slog.Record) {
		if r.Level >= slog.LevelWarn {
			warnings++
		}
	}}))
	old := time.Now().Add(-time.Hour).UnixMilli()
	create := hintChange{written: true, created: true, grow: 100, sinceMS: old}
	b.account("n2", create)
	b.settle("n2", create, true)
	b.beginSweep("n2")
	b.keep("n2", 100, 101) // the owner refused it: the sweep leaves nothing pending
	now := time.Now().UnixMilli()
	unkeep := hintChange{written: true, kept: 101, grow: -60, sinceMS: now}
	b.account("n2", unkeep) // a client resolves the key
	b.settle("n2", unkeep, true)
	b.endSweep("n2", sweepNotes{}, true)
	if bl := b.backlog("n2"); bl != (hint.Backlog{Keys: 1, Bytes: 41, OldestMS: now}) {
		t.Errorf("after the sweep: backlog %+v, want the un-kept record", bl)
	}
	if p := b.pending(); len(p) != 1 {
		t.Errorf("pending owners %v, want n2", p)
	}
	if warnings != 0 {
		t.Errorf("%d warnings logged; the backlog held no phantom", warnings)
	}
}

// TestUnreadableReadLog: a read that skips an unreadable record logs the
// object key quoted and the owner apart, not the raw stored key.
func TestUnreadableReadLog(t *testing.T) {
	var got []string
	rec := &attrRecorder{fn: func(r slog.Record) {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "key" || a.Key == "owner" || a.Key == "stored_key" {
				got = append(got, a.Key+"="+a.Value.String())
			}
			return true
		})
	}}
	b := newHintBook(slog.New(rec))
	stored, err := hint.Key([]byte("k\x00\xff"), "n2")
	if err != nil {
		t.Fatal(err)
	}
	b.unreadableRead(stored, errors.New("corrupt"), time.Now())
	b.unreadableRead([]byte("\x00"), errors.New("corrupt"), time.Now().Add(refusalReportEvery))
	want := []string{`key="k\x00\xff"`, "owner=n2", `stored_key="\x00"`}
	if !slices.Equal(got, want) {
		t.Errorf("logged %q, want %q", got, want)
	}
}

// attrRecorder is a slog.Handler that passes each record to fn.
type attrRecorder struct{ fn func(slog.Record) }

func (r *attrRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *attrRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.fn(rec)
	return nil
}
func (r *attrRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *attrRecorder) WithGroup(string) slog.Handler      { return r }

// TestSnapshotBoundsVisits: one read transaction of a sweep visits at most
// batchVisits records, however many other owners' records it must pass.
func TestSnapshotBoundsVisits(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	obj, _ := dvv.Set{}.Update(dvv.Actor{Node: "n9", Epoch: 1}, nil, []byte("v"), false)
	val, err := hint.EncodeRecord(hint.Record{SinceMS: 1, Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	put := func(key, owner string) {
		hk, err := hint.Key([]byte(key), owner)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(context.Background(), store.Hints, hk, func([]byte) ([]byte, error) { return val, nil }); err != nil {
			t.Fatal(err)
		}
	}
	const others = batchVisits*2 + 10
	for i := range others {
		put(fmt.Sprintf("a%06d", i), "n3")
	}
	put("z", "n2")
	s := &Server{st: st, hints: newHintBook(discardLogger()), log: discardLogger()}
	w := &worker{d: &deliverer{s: s}, owner: "n2"}
	var seen sweepNotes
	var from []byte
	var got []pending
	txns := 0
	for {
		batch, next, err := w.snapshot(from, true, &seen)
		if err != nil {
			t.Fatal(err)
		}
		txns++
		got = append(got, batch...)
		if next == nil {
			break
		}
		from = next
	}
	if want := (others + 1 + batchVisits - 1) / batchVisits; txns != want {
		t.Errorf("the sweep took %d read transactions, want %d of at most %d visits", txns, want, batchVisits)
	}
	if len(got) != 1 || string(got[0].key) != "z" {
		t.Errorf("the sweep copied out %d records, want n2's one", len(got))
	}
}
