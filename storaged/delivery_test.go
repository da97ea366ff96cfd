package storaged_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
)

// logRecorder is a slog.Handler that keeps each record's message and owner
// attribute, for tests that check what a node reported.
type logRecorder struct {
	mu    *sync.Mutex
	lines *[]string // "message owner=..."
	attrs []slog.Attr
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &sync.Mutex{}, lines: new([]string)}
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	owner := ""
	find := func(a slog.Attr) bool {
		if a.Key == "owner" {
			owner = a.Value.String()
		}
		return true
	}
	for _, a := range r.attrs {
		find(a)
	}
	rec.Attrs(find)
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.lines = append(*r.lines, rec.Message+" owner="+owner)
	return nil
}

func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{mu: r.mu, lines: r.lines, attrs: append(slices.Clone(r.attrs), as...)}
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

// count returns how many records start with prefix and name owner.
func (r *logRecorder) count(prefix, owner string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range *r.lines {
		if strings.HasPrefix(l, prefix) && strings.HasSuffix(l, " owner="+owner) {
			n++
		}
	}
	return n
}

// TestHintWriterOvertakenByDelivery: a hinted write whose goroutine stalls
// after its record committed, while delivery hands the record off and
// deletes it, leaves no phantom record in the book: the owner's backlog is
// empty and the hint window does not refuse its new hints later.
func TestHintWriterOvertakenByDelivery(t *testing.T) {
	const window = time.Second
	c := newTestCluster(t, 2, func(cfg *storaged.Config) { cfg.HintWindow = window })
	c.start("n1") // n2 is down: its hints wait
	c.must("n1", &wire.Replicate{Key: []byte("k0"), Object: object("n9", 1, "v"), HintFor: "n2"}, &wire.Ack{})
	entered, release := make(chan struct{}), make(chan struct{})
	var hold, unhold sync.Once
	defer unhold.Do(func() { close(release) })
	restore := storaged.SetHintAppliedHook(func() {
		hold.Do(func() {
			close(entered)
			<-release
		})
	})
	defer restore()
	done := make(chan error, 1)
	go func() {
		done <- c.call("n1", &wire.Replicate{Key: []byte("k"), Object: object("n9", 2, "w"), HintFor: "n2"}, &wire.Ack{})
	}()
	select {
	case <-entered:
	case <-time.After(testTimeout):
		t.Fatal("the hinted write never returned from its commit")
	}
	// The record is durable; its writer is held. The owner comes up and
	// delivery takes both records.
	c.start("n2")
	eventually(t, func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }, func() bool {
		st := c.status("n1")
		return st.Hints == 0 && st.HintsDelivered == 2
	})
	unhold.Do(func() { close(release) })
	if err := <-done; err != nil {
		t.Fatalf("hinted write: %v", err)
	}
	if st := c.status("n1"); st.Hints != 0 || len(st.HintOwners) != 0 {
		t.Fatalf("after the writer settled: %d hints stored, book %s; want none", st.Hints, ownersOf(st))
	}
	time.Sleep(window + 100*time.Millisecond) // a phantom would now be older than the window
	if err := c.call("n1", &wire.Replicate{Key: []byte("k2"), Object: object("n9", 3, "x"), HintFor: "n2"}, &wire.Ack{}); err != nil {
		t.Fatalf("new hint for a healthy owner: %v", err)
	}
}

// TestHintRefusedForGoodIsKept: a record the owner refuses for good
// (CodeTooLarge here) is kept on disk and counted in the status, logged
// once, and neither holds the owner's hint window nor stops its other
// records.
func TestHintRefusedForGoodIsKept(t *testing.T) {
	const window = time.Second
	logs := newLogRecorder()
	c := newTestCluster(t, 2, func(cfg *storaged.Config) {
		cfg.HintWindow = window
		cfg.Logger = slog.New(logs)
	})
	c.start("n1")
	first := time.Now()
	c.must("n1", &wire.Replicate{Key: []byte("bad"), Object: object("n9", 1, "big"), HintFor: "n2"}, &wire.Ack{})
	fake := &fakeOwner{c: c, answer: func(_ context.Context, req *wire.Handoff) error {
		if string(req.Key) == "bad" {
			return fmt.Errorf("%w: the owner holds smaller limits", wire.ErrTooLarge)
		}
		return nil
	}}
	fake.start(t, "n2")
	eventually(t, func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }, func() bool {
		st := c.status("n1")
		return st.HintsKept == 1 && len(st.HintOwners) == 0
	})
	time.Sleep(time.Until(first.Add(window + 100*time.Millisecond))) // the kept record is older than the window
	if err := c.call("n1", &wire.Replicate{Key: []byte("good"), Object: object("n9", 2, "ok"), HintFor: "n2"}, &wire.Ack{}); err != nil {
		t.Fatalf("new hint for the owner after its refused record aged past the window: %v", err)
	}
	eventually(t, func() string { return fmt.Sprintf("n1 status %+v, owner got %q", c.status("n1"), fake.received()) }, func() bool {
		st := c.status("n1")
		return st.HintsDelivered == 1 && len(st.HintOwners) == 0
	})
	st := c.status("n1")
	if st.Hints != 1 || st.HintsKept != 1 {
		t.Errorf("status: %d hints stored, %d kept; want the refused one, kept", st.Hints, st.HintsKept)
	}
	if g := c.get("n1", "bad"); !slices.Equal(values(g.Object), []string{"big"}) {
		t.Errorf("the kept record reads %q, want it", values(g.Object))
	}
	if n := logs.count("hint delivery: owner refused", "n2"); n != 1 {
		t.Errorf("the refusal was logged %d times over many passes, want once", n)
	}
	if got := fake.received(); slices.Index(got, "big") != 0 || slices.Index(got[1:], "big") != -1 {
		t.Errorf("the owner received %q: the refused record was sent again", got)
	}
}

// TestHintDeadOwnerDoesNotStallOthers: while delivery to one owner hangs (a
// call that will only end at its timeout), another owner's hints are
// delivered: before the node gives up on the hung call.
func TestHintDeadOwnerDoesNotStallOthers(t *testing.T) {
	logs := newLogRecorder()
	c := newTestCluster(t, 3, func(cfg *storaged.Config) { cfg.Logger = slog.New(logs) })
	c.start("n1")
	c.start("n2")
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var once sync.Once
	hung := &fakeOwner{c: c, answer: func(ctx context.Context, _ *wire.Handoff) error {
		once.Do(func() { close(entered) })
		select {
		case <-release:
		case <-ctx.Done():
		}
		return errors.New("fake owner: hung up")
	}}
	hung.start(t, "n3")
	c.must("n1", &wire.Replicate{Key: []byte("for-n3"), Object: object("n9", 1, "x"), HintFor: "n3"}, &wire.Ack{})
	select {
	case <-entered:
	case <-time.After(testTimeout):
		t.Fatal("n3 never received its hint")
	}
	c.must("n1", &wire.Replicate{Key: []byte("for-n2"), Object: object("n9", 2, "y"), HintFor: "n2"}, &wire.Ack{})
	eventually(t, func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }, func() bool {
		return ownersOf(c.status("n1")) == "n3:1"
	})
	if n := logs.count("hint delivery failing", "n3"); n != 0 {
		t.Errorf("n2's hint was delivered only after n1 gave up on n3 (%d failures logged): the hung owner held it up", n)
	}
	if g := c.get("n2", "for-n2"); !g.Found {
		t.Errorf("n2 does not hold its hint")
	}
}
