package handoff

import (
	"errors"
	"testing"
	"time"

	"github.com/shoalkv/shoal/storaged/hint"
)

func TestTransferNormal(t *testing.T) {
	tr := mustNew(t, Config{Window: 2, MaxObjects: 2}, "")
	rd := tr.Ready()
	o := wantOpen(t, rd, 1, "")
	if o.Window != 2 || o.MaxObjects != 2 || o.MaxBytes != DefaultMaxBytes || !rd.Wake.Equal(at(DefaultBatchDeadline)) {
		t.Fatalf("open %+v wake %v", o, rd.Wake)
	}
	tr.Batch(at(time.Second), batch(1, 1, false, "a", "b"))
	tr.Batch(at(time.Second), batch(1, 2, false, "c", "d"))
	rd = tr.Ready()
	if !rd.Wake.IsZero() { // the window is used up: nothing to wait for
		t.Fatalf("wake %v with the window used up", rd.Wake)
	}
	if rd.Merge == nil || rd.Merge.Seq != 1 || string(rd.Merge.Cursor) != "b" || len(rd.Merge.Objects) != 2 {
		t.Fatalf("merge %+v", rd.Merge)
	}
	tr.Durable(at(2*time.Second), 1, 1)
	rd = tr.Ready()
	wantAcks(t, rd, 1, 1)
	if rd.Merge == nil || rd.Merge.Seq != 2 {
		t.Fatalf("next merge %+v", rd.Merge)
	}
	if !rd.Wake.Equal(at(2*time.Second + DefaultBatchDeadline)) { // the sender owed nothing until this ack
		t.Fatalf("wake %v, want the deadline after the ack", rd.Wake)
	}
	tr.Durable(at(2*time.Second), 1, 2)
	wantAcks(t, tr.Ready(), 1, 2)
	tr.Batch(at(3*time.Second), batch(1, 3, true, "e"))
	rd = commit(t, tr, at(3*time.Second), 1, 3, "e")
	wantAcks(t, rd, 1, 3)
	if !rd.Close || !rd.Exchange || rd.Done || !rd.Wake.IsZero() {
		t.Fatalf("after the done batch: %+v", rd)
	}
	tr.Exchanged(at(4*time.Second), nil)
	rd = tr.Ready()
	if !rd.Done || rd.Err != nil {
		t.Fatalf("end %+v", rd)
	}
	want := Stats{Objects: 5, Bytes: 5 * (1 + 10 + objectOverhead), Batches: 3, Sessions: 1, Exchanges: 1}
	if rd.Stats != want {
		t.Fatalf("stats %+v, want %+v", rd.Stats, want)
	}
	if string(tr.Cursor()) != "e" {
		t.Fatalf("cursor %q", tr.Cursor())
	}
}

// An empty range is one empty done batch.
func TestTransferEmptyRange(t *testing.T) {
	tr := mustNew(t, Config{}, "")
	tr.Ready()
	tr.Batch(at(0), batch(1, 1, true))
	rd := commit(t, tr, at(0), 1, 1, "")
	if !rd.Exchange {
		t.Fatalf("%+v", rd)
	}
}

func TestTransferWindow(t *testing.T) {
	tr := mustNew(t, Config{Window: 2}, "")
	tr.Ready()
	tr.Batch(at(0), batch(1, 1, false, "a"))
	tr.Batch(at(0), batch(1, 2, false, "b"))
	tr.Batch(at(0), batch(1, 3, false, "c")) // beyond the window: the sender broke the protocol
	rd := tr.Ready()
	wantClosed(t, rd, time.Time{}) // no timer: the merge out reopens once durable
	if rd.Stats.Failures != 1 {
		t.Fatalf("stats %+v", rd.Stats)
	}

	// Within the window as the acks open it.
	tr = mustNew(t, Config{Window: 2}, "")
	tr.Ready()
	tr.Batch(at(0), batch(1, 1, false, "a"))
	tr.Batch(at(0), batch(1, 2, false, "b"))
	commit(t, tr, at(0), 1, 1, "a")
	tr.Batch(at(0), batch(1, 3, false, "c"))
	if rd := tr.Ready(); rd.Close || rd.Stats.Failures != 0 {
		t.Fatalf("batch 3 after the ack of 1 refused: %+v", rd)
	}
}

// TestTransferResumeAfterCrash: the receiver crashes mid-transfer; a new
// Transfer from the durable cursor resumes there, and only the batches
// that were not durable are sent again: at most one window.
func TestTransferResumeAfterCrash(t *testing.T) {
	for seed := range uint64(20) {
		cfg := Config{Window: 4, MaxObjects: 10}
		w := newWorld(seed, cfg, source(newRand(seed), 500, 100))
		w.restart()
		for len(w.merged) < 250 {
			w.step()
		}
		before := string(w.cursor)
		stream := w.rxStream
		// kill -9: the Transfer, its stream and the merge committing are gone.
		w.tr, w.merge = nil, nil
		w.kill(w.rxStream)
		w.restartAt = w.now.Add(time.Second)
		for w.tr == nil {
			w.step()
		}
		if w.rxStream == stream {
			t.Fatal("no new stream")
		}
		for !w.done {
			w.step()
		}
		if miss := w.missing(); len(miss) > 0 {
			t.Fatalf("seed %d: %d objects lost", seed, len(miss))
		}
		n := w.resent[stream+1]
		if n == 0 || n > cfg.Window {
			t.Fatalf("seed %d: re-sent %d batches after the crash, want 1 to the window %d", seed, n, cfg.Window)
		}
		t.Logf("seed %d: crash at cursor %q, %d batches re-sent", seed, before, n)
	}
}

// TestTransferUnreachable: the sender does not answer; the deadline closes
// the session, the transfer backs off (hint.Backoff) and reopens by itself,
// and once a batch comes the failure count starts again.
func TestTransferUnreachable(t *testing.T) {
	tr := mustNew(t, Config{}, "k1")
	wantOpen(t, tr.Ready(), 1, "k1")
	tr.Tick(at(DefaultBatchDeadline - time.Nanosecond))
	if rd := tr.Ready(); rd.Close {
		t.Fatal("closed before the deadline")
	}
	d := DefaultBatchDeadline
	tr.Tick(at(d))
	wantClosed(t, tr.Ready(), at(d+time.Second))
	tr.Tick(at(d + time.Second))
	wantOpen(t, tr.Ready(), 2, "k1")
	tr.Fail(at(d+2*time.Second), 2, errCut) // the connection attempt fails
	wantClosed(t, tr.Ready(), at(d+4*time.Second))
	tr.Fail(at(d+3*time.Second), 2, errCut) // a failure of a closed session counts nothing
	tr.Tick(at(d + 4*time.Second))
	wantOpen(t, tr.Ready(), 3, "k1")
	tr.Batch(at(d+5*time.Second), batch(1, 1, false, "k2")) // late, from session 1
	tr.Batch(at(d+5*time.Second), batch(3, 1, false, "k2"))
	rd := commit(t, tr, at(d+5*time.Second), 3, 1, "k2")
	if rd.Stats.Ignored != 1 || rd.Stats.Failures != 2 {
		t.Fatalf("%+v", rd)
	}
	tr.Fail(at(d+6*time.Second), 3, errCut)
	wantClosed(t, tr.Ready(), at(d+7*time.Second)) // back to the first back-off
}

func TestTransferGivesUp(t *testing.T) {
	tr := mustNew(t, Config{MaxFailures: 2}, "")
	for i := range uint64(3) {
		rd := tr.Ready()
		if rd.Open == nil {
			t.Fatalf("failure %d: no open: %+v", i, rd)
		}
		now := at(time.Duration(i) * 10 * time.Second)
		tr.Fail(now, rd.Open.Session, errCut)
		tr.Tick(now.Add(9 * time.Second))
	}
	rd := tr.Ready()
	if !rd.Done || !errors.Is(rd.Err, ErrStalled) || !errors.Is(rd.Err, errCut) || Final(rd.Err) {
		t.Fatalf("end %+v", rd)
	}
}

func TestTransferRefused(t *testing.T) {
	open := &Open{ID: testID()}
	for _, c := range []struct {
		sender uint64
		want   Refusal
	}{{2, RefuseBehind}, {3, RefuseNone}, {4, RefuseStale}} {
		if got := Refuse(open, c.sender); got != c.want {
			t.Errorf("Refuse(v3 at v%d) = %v, want %v", c.sender, got, c.want)
		}
	}

	tr := mustNew(t, Config{}, "")
	tr.Ready()
	tr.Refused(at(0), &Refused{Partition: 7, Session: 1, Reason: RefuseStale, RingVersion: 4})
	rd := tr.Ready()
	var re *RefusedError
	if !rd.Done || !rd.Close || !errors.As(rd.Err, &re) || re.RingVersion != 4 || re.Reason != RefuseStale || !Final(rd.Err) {
		t.Fatalf("end %+v", rd)
	}

	// A sender behind or busy is retried.
	for _, r := range []Refusal{RefuseBehind, RefuseBusy} {
		tr = mustNew(t, Config{}, "")
		tr.Ready()
		tr.Refused(at(0), &Refused{Partition: 7, Session: 2, Reason: r}) // another session's: ignored
		tr.Refused(at(0), &Refused{Partition: 7, Session: 1, Reason: r, RingVersion: 2})
		wantClosed(t, tr.Ready(), at(time.Second))
		tr.Tick(at(time.Second))
		wantOpen(t, tr.Ready(), 2, "")
	}
}

// TestTransferBadBatches: after a good batch 1 (keys b, c), each of these
// breaks the protocol and closes the session.
func TestTransferBadBatches(t *testing.T) {
	big := make([]byte, DefaultMaxBytes)
	cases := map[string]*Batch{
		"gap":              batch(1, 3, false, "d"),
		"not ascending":    batch(1, 2, false, "e", "d"),
		"twice":            batch(1, 2, false, "d", "d"),
		"not after cursor": batch(1, 2, false, "c", "d"),
		"before cursor":    batch(1, 2, false, "a"),
		"too many":         batch(1, 2, false, "d", "e", "f", "g"),
		"too big":          {Partition: 7, Session: 1, Seq: 2, Objects: []Object{{[]byte("d"), big}, {[]byte("e"), nil}}, Last: []byte("e")},
		"value too big":    {Partition: 7, Session: 1, Seq: 2, Objects: []Object{{[]byte("d"), make([]byte, 2000)}}, Last: []byte("d")},
		"empty key":        {Partition: 7, Session: 1, Seq: 2, Objects: []Object{{[]byte(""), nil}}, Last: []byte("d")},
		"key too long":     batch(1, 2, false, "d"+string(make([]byte, 300))),
		"last before key":  {Partition: 7, Session: 1, Seq: 2, Objects: objs("d", "e"), Last: []byte("d")},
		"stands still":     {Partition: 7, Session: 1, Seq: 2, Last: []byte("c")},
		"goes back":        {Partition: 7, Session: 1, Seq: 2, Last: []byte("b"), Done: true},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			tr := mustNew(t, Config{MaxObjects: 3, MaxKey: 200, MaxValue: 1000}, "a")
			tr.Ready()
			tr.Batch(at(0), batch(1, 1, false, "b", "c"))
			if rd := commit(t, tr, at(0), 1, 1, "c"); rd.Close {
				t.Fatalf("good batch refused: %+v", rd)
			}
			tr.Batch(at(time.Second), b)
			rd := tr.Ready()
			wantClosed(t, rd, at(2*time.Second))
			if rd.Stats.Failures != 1 {
				t.Fatalf("stats %+v", rd.Stats)
			}
		})
	}
	// Bytes over the limit by the last object only are fine, as is an
	// empty batch that skips ahead.
	tr := mustNew(t, Config{MaxBytes: 100}, "")
	tr.Ready()
	tr.Batch(at(0), &Batch{Partition: 7, Session: 1, Seq: 1, Objects: []Object{{[]byte("a"), make([]byte, 80)}, {[]byte("b"), big}}, Last: []byte("b")})
	tr.Batch(at(0), &Batch{Partition: 7, Session: 1, Seq: 2, Last: []byte("q")})
	if rd := tr.Ready(); rd.Close {
		t.Fatalf("refused: %+v", rd)
	}
	// After the done batch, nothing more.
	tr = mustNew(t, Config{}, "")
	tr.Ready()
	tr.Batch(at(0), batch(1, 1, true, "a"))
	tr.Batch(at(0), batch(1, 2, false, "b"))
	if rd := tr.Ready(); !rd.Close {
		t.Fatalf("batch after done accepted: %+v", rd)
	}
}

func TestTransferDuplicates(t *testing.T) {
	tr := mustNew(t, Config{}, "")
	tr.Ready()
	tr.Batch(at(0), batch(1, 1, false, "a"))
	tr.Batch(at(0), batch(1, 1, false, "a"))                  // the same again
	tr.Batch(at(0), batch(0, 1, false, "b"))                  // no such session
	tr.Batch(at(0), &Batch{Partition: 8, Session: 1, Seq: 2}) // another partition
	rd := tr.Ready()
	if rd.Close || rd.Stats.Ignored != 3 || rd.Merge == nil {
		t.Fatalf("%+v", rd)
	}
	tr.Durable(at(0), 1, 1)
	tr.Batch(at(0), batch(1, 1, false, "a")) // seen and merged already
	if rd := tr.Ready(); rd.Close || rd.Stats.Ignored != 4 || rd.Merge != nil {
		t.Fatalf("%+v", rd)
	}
}

// TestTransferMergeOutAtFailure: a merge handed out when the session fails
// goes on; the transfer reopens only once it is durable, after it, and the
// batches accepted after it are sent again (counted as Resent).
func TestTransferMergeOutAtFailure(t *testing.T) {
	tr := mustNew(t, Config{}, "")
	tr.Ready()
	tr.Batch(at(0), batch(1, 1, false, "a"))
	tr.Batch(at(0), batch(1, 2, false, "b"))
	tr.Fail(at(0), 1, errCut)
	rd := tr.Ready()
	if rd.Merge == nil || rd.Merge.Seq != 1 || !rd.Close {
		t.Fatalf("%+v", rd)
	}
	tr.Tick(at(5 * time.Second))
	if rd := tr.Ready(); rd.Open != nil || !rd.Wake.IsZero() {
		t.Fatalf("reopened with a merge out: %+v", rd)
	}
	tr.Durable(at(6*time.Second), 1, 1)
	rd = tr.Ready()
	if len(rd.Acks) != 0 || rd.Merge != nil {
		t.Fatalf("acked or merged on a closed session: %+v", rd)
	}
	wantOpen(t, rd, 2, "a")
	tr.Batch(at(7*time.Second), batch(2, 1, false, "b"))
	tr.Batch(at(7*time.Second), batch(2, 2, false, "c"))
	if rd := tr.Ready(); rd.Stats.Resent != 1 || rd.Stats.ResentObjects != 1 {
		t.Fatalf("stats %+v", rd.Stats)
	}
}

func TestTransferExchangeRetried(t *testing.T) {
	tr := mustNew(t, Config{MaxFailures: 1}, "")
	tr.Ready()
	tr.Batch(at(0), batch(1, 1, true, "a"))
	commit(t, tr, at(0), 1, 1, "a")
	tr.Exchanged(at(time.Second), errCut)
	rd := tr.Ready()
	if rd.Exchange || rd.Done || !rd.Wake.Equal(at(2*time.Second)) {
		t.Fatalf("%+v", rd)
	}
	tr.Tick(at(2 * time.Second))
	if rd := tr.Ready(); !rd.Exchange {
		t.Fatalf("no retry: %+v", rd)
	}
	tr.Exchanged(at(3*time.Second), errCut)
	rd = tr.Ready()
	if !rd.Done || !errors.Is(rd.Err, ErrStalled) || rd.Stats.Exchanges != 2 {
		t.Fatalf("%+v", rd)
	}
}

func TestTransferMisuse(t *testing.T) {
	for _, c := range []struct {
		cfg    Config
		id     ID
		cursor []byte
	}{
		{Config{Window: MaxWindow + 1}, testID(), nil},
		{Config{}, ID{From: "n1", To: "n1"}, nil},
		{Config{}, ID{From: "n1"}, nil},
		{Config{}, testID(), make([]byte, MaxKeyCeiling+1)},
	} {
		if _, err := New(c.cfg, c.id, c.cursor, epoch); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v, %v) = %v", c.cfg, c.id, err)
		}
	}
	mustPanic(t, "Durable with no merge", func() { mustNew(t, Config{}, "").Durable(epoch, 1, 1) })
	mustPanic(t, "Exchanged with no exchange", func() { mustNew(t, Config{}, "").Exchanged(epoch, nil) })
	mustPanic(t, "Fail(nil)", func() { mustNew(t, Config{}, "").Fail(epoch, 1, nil) })
	mustPanic(t, "Durable of another batch", func() {
		tr := mustNew(t, Config{}, "")
		tr.Batch(epoch, batch(1, 1, false, "a"))
		tr.Durable(epoch, 1, 2)
	})
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

// TestTransferMergeFailed: a merge that did not commit fails the session;
// the transfer reopens from the durable cursor, so the batch comes again.
func TestTransferMergeFailed(t *testing.T) {
	tr := mustNew(t, Config{}, "")
	tr.Ready()
	tr.Batch(at(0), batch(1, 1, false, "a"))
	commit(t, tr, at(0), 1, 1, "a")
	tr.Batch(at(0), batch(1, 2, false, "b"))
	tr.Batch(at(0), batch(1, 3, false, "c"))
	if rd := tr.Ready(); rd.Merge == nil || rd.Merge.Seq != 2 {
		t.Fatalf("%+v", rd)
	}
	tr.MergeFailed(at(time.Second), 1, 2, errCut)
	rd := tr.Ready()
	wantClosed(t, rd, at(2*time.Second))
	if rd.Merge != nil || len(rd.Acks) != 0 {
		t.Fatalf("%+v", rd)
	}
	tr.Tick(at(2 * time.Second))
	wantOpen(t, tr.Ready(), 2, "a")

	// A merge that fails after its session did counts too, and the
	// transfer reopens after the longer back-off.
	tr = mustNew(t, Config{}, "")
	tr.Ready()
	tr.Batch(at(0), batch(1, 1, false, "a"))
	tr.Fail(at(0), 1, errCut)
	tr.MergeFailed(at(0), 1, 1, errCut)
	rd = tr.Ready()
	if rd.Stats.Failures != 2 || !rd.Wake.Equal(at(2*time.Second)) {
		t.Fatalf("%+v", rd)
	}
	tr.Tick(at(2 * time.Second))
	wantOpen(t, tr.Ready(), 2, "")
	mustPanic(t, "MergeFailed with no merge", func() { tr.MergeFailed(epoch, 2, 1, errCut) })
}

// TestTransferDeadlineAfterSlowMerges: while the window is used up the
// sender owes nothing, so slow merges never count against its deadline;
// the deadline runs from the ack that lets it send again.
func TestTransferDeadlineAfterSlowMerges(t *testing.T) {
	tr := mustNew(t, Config{Window: 1, BatchDeadline: 10 * time.Second}, "")
	tr.Ready()
	tr.Batch(at(time.Second), batch(1, 1, false, "a"))
	rd := commit(t, tr, at(time.Minute), 1, 1, "a") // a minute to commit
	wantAcks(t, rd, 1, 1)
	if !rd.Wake.Equal(at(time.Minute + 10*time.Second)) {
		t.Fatalf("wake %v, want 10 s after the ack", rd.Wake)
	}
	tr.Tick(at(time.Minute + 9*time.Second))
	if rd := tr.Ready(); rd.Close {
		t.Fatal("stalled before its deadline")
	}
}

// TestTransferCutTenSeconds: sender and receiver cut apart for 10 s
// mid-transfer, silently (no transport error): the deadline notices, the
// transfer reopens by itself after its back-off, and finishes with at most
// one window re-sent.
func TestTransferCutTenSeconds(t *testing.T) {
	cfg := Config{MaxObjects: 10}
	w := newWorld(1, cfg, source(newRand(1), 2000, 100))
	w.restart()
	for len(w.merged) < 1000 {
		w.step()
	}
	stream, cutAt := w.rxStream, w.now
	w.cutUntil = w.now.Add(10 * time.Second)
	w.kill(w.rxStream)
	for w.rxStream == stream || w.rxStream == 0 {
		w.step()
	}
	if wait := w.now.Sub(cutAt); wait > DefaultBatchDeadline+hint.MaxBackoff {
		t.Fatalf("reopened %v after the cut", wait)
	}
	for !w.done {
		w.step()
	}
	if miss := w.missing(); len(miss) > 0 || w.maxResent() > DefaultWindow || w.resent[stream+1] == 0 {
		t.Fatalf("%d lost, re-sent %v (want 1 to %d on stream %d)", len(miss), w.resent, DefaultWindow, stream+1)
	}
}
