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

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire/dvv"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// commit stages d for owner and settles it, as the commit loop does for
// a write whose batch committed (or not).
func commit(b *hintBook, owner ring.NodeID, d hint.Delta, committed bool) {
	b.stage(owner, d)(committed)
}

// TestHintBookCommitsOnlyWhatCommitted: a write counts once its batch
// committed; a staged write counts for the admission of the rest of its
// batch but not after a failed commit; a delivered record leaves no
// phantom.
func TestHintBookCommitsOnlyWhatCommitted(t *testing.T) {
	b := newHintBook(discardLogger())
	old := time.Now().Add(-4 * time.Hour).UnixMilli()
	then := b.stage("n2", hint.Created(120, old)) // fn, on the commit loop
	if p, _ := b.held("n2"); p.Keys != 1 || p.Bytes != 120 {
		t.Fatalf("a staged write is not counted for its batch: held %+v", p)
	}
	if bl := b.backlog("n2"); bl != (hint.Backlog{}) || len(b.pending()) != 0 {
		t.Fatalf("a staged write counts before it committed: backlog %+v", bl)
	}
	then(true)
	if bl := b.backlog("n2"); bl != (hint.Backlog{Keys: 1, Bytes: 120, OldestMS: old}) {
		t.Fatalf("after the commit: backlog %+v", bl)
	}
	if p, _ := b.held("n2"); p != b.backlog("n2") {
		t.Fatalf("a settled write is still staged: held %+v", p)
	}
	b.removal("n2", 120)(true) // delivered and deleted
	if p := b.pending(); len(p) != 0 {
		t.Fatalf("bucket empty but the book lists %v, backlog %+v", p, b.backlog("n2"))
	}
	if st := b.status(); st.delivered != 1 {
		t.Errorf("delivered %d, want 1", st.delivered)
	}
	pol := hint.Policy{Window: 3 * time.Hour}
	if p, k := b.held("n2"); pol.Admit("n2", p, k, hint.Write{New: true, Grow: 100}, time.Now()) != nil {
		t.Errorf("a new hint is refused after the old one was delivered")
	}

	// Not committed: nothing is counted, nothing stays staged.
	commit(b, "n2", hint.Created(120, old), false)
	b.removal("n2", 50)(false)
	if p, k := b.held("n2"); p != (hint.Backlog{}) || k != (hint.Backlog{}) || len(b.pending()) != 0 {
		t.Errorf("after writes that did not commit: held %+v, %+v", p, k)
	}
}

// TestHintBookSweepCorrects: a complete sweep that finds no record of an
// owner empties its backlog, however it drifted; an incomplete sweep, or
// records committed during the sweep, do not.
func TestHintBookSweepCorrects(t *testing.T) {
	old := time.Now().Add(-4 * time.Hour).UnixMilli()
	phantom := hint.Backlog{Keys: 1, Bytes: 120, OldestMS: old}

	b := newHintBook(discardLogger())
	b.accounts["n2"] = hint.Account{Pending: phantom}
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
	if c := b.status().corrected; c != 1 {
		t.Errorf("corrections counted: %d, want 1", c)
	}

	// A record committed while the sweep ran (after the scan passed its
	// key) is pending: the backlog stays, settled to it.
	b.accounts["n2"] = hint.Account{Pending: phantom}
	b.beginSweep("n2")
	now := time.Now().UnixMilli()
	commit(b, "n2", hint.Created(50, now), true)
	b.endSweep("n2", sweepNotes{}, true)
	if got := b.backlog("n2"); got.Keys != 2 || got.OldestMS != now {
		t.Errorf("sweep with a record created meanwhile: %+v, want 2 keys, oldest %d", got, now)
	}

	// A write staged when the sweep begins and committed during it counts
	// as well: its commit may come after the scan passed its key.
	b = newHintBook(discardLogger())
	then := b.stage("n2", hint.Created(50, now))
	b.beginSweep("n2")
	then(true)
	b.endSweep("n2", sweepNotes{}, true)
	if got := b.backlog("n2"); got.Keys != 1 || got.OldestMS != now {
		t.Errorf("sweep that began with a write staged: %+v, want it kept", got)
	}
}

// TestHintBookKept: a record delivery gives up on leaves the backlog (and so
// the hint window) but is counted, toward the caps too; a write that changes
// it brings it back, and a keep or un-keep that fails to commit changes
// nothing.
func TestHintBookKept(t *testing.T) {
	b := newHintBook(discardLogger())
	old := time.Now().Add(-4 * time.Hour).UnixMilli()
	commit(b, "n2", hint.Created(100, old), true)
	commit(b, "n2", hint.Kept(100, 101), true)
	if bl, st := b.backlog("n2"), b.status(); bl != (hint.Backlog{}) || st.kept != 1 {
		t.Fatalf("after keep: backlog %+v, kept %d", bl, st.kept)
	}
	if p, k := b.held("n2"); p != (hint.Backlog{}) || k.Keys != 1 || k.Bytes != 101 {
		t.Fatalf("after keep: held %+v, %+v; want the kept record's 101 bytes", p, k)
	}
	now := time.Now().UnixMilli()
	commit(b, "n2", hint.Unkept(101, 110, now), true)
	if bl, st := b.backlog("n2"), b.status(); bl != (hint.Backlog{Keys: 1, Bytes: 110, OldestMS: now}) || st.kept != 0 {
		t.Errorf("after a write to the kept record: backlog %+v, kept %d; want it back", bl, st.kept)
	}

	commit(b, "n2", hint.Kept(110, 111), false)
	if p, k := b.held("n2"); p != (hint.Backlog{Keys: 1, Bytes: 110, OldestMS: now}) || k != (hint.Backlog{}) {
		t.Errorf("after a keep that did not commit: held %+v, %+v", p, k)
	}
	commit(b, "n2", hint.Kept(110, 111), true)
	commit(b, "n2", hint.Unkept(111, 110, now), false)
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
	commit(b, "n2", hint.Created(40, old), true)
	b.beginSweep("n2")
	commit(b, "n2", hint.Kept(40, 41), true) // the owner refused it: the sweep leaves nothing pending
	now := time.Now().UnixMilli()
	commit(b, "n2", hint.Unkept(41, 41, now), true) // a client resolves the key
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
	put := func(key string, owner ring.NodeID) {
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
