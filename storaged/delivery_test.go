package storaged_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// logRecorder is a slog.Handler that keeps each record's message and owner
// and key attributes, for tests that check what a node reported.
type logRecorder struct {
	mu    *sync.Mutex
	lines *[]string // "message owner=..."
	keys  *[]string // "message key=...", of the records with a key
	attrs []slog.Attr
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &sync.Mutex{}, lines: new([]string), keys: new([]string)}
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	owner, key := "", ""
	find := func(a slog.Attr) bool {
		switch a.Key {
		case "owner":
			owner = a.Value.String()
		case "key":
			key = a.Value.String()
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
	if key != "" {
		*r.keys = append(*r.keys, rec.Message+" key="+key)
	}
	return nil
}

func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{mu: r.mu, lines: r.lines, keys: r.keys, attrs: append(slices.Clone(r.attrs), as...)}
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

// keysOf returns the key attributes of the records that start with prefix.
func (r *logRecorder) keysOf(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range *r.keys {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			_, k, _ := strings.Cut(rest, " key=")
			out = append(out, k)
		}
	}
	return out
}

// TestHintWriterOvertakenByDelivery: a hinted write whose goroutine stalls
// after its record committed, while delivery hands the record off and
// deletes it, leaves no phantom record in the book: the owner's backlog is
// empty and the hint window does not refuse its new hints later.
func TestHintWriterOvertakenByDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window = time.Second
		c := newTestCluster(t, 2, func(cfg *storaged.Config) { cfg.HintWindow = window })
		c.start("n1") // n2 is down: its hints wait
		wrote := time.Now()
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
		// n1's first delivery pass takes both records.
		c.start("n2")
		c.holdsFrom(c.pass("n1", 1), func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }, func() bool {
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
		// A phantom of k, written at wrote, would be older than the window
		// (compared in milliseconds) from 1ms past it on.
		waitUntil(wrote.Add(window + time.Millisecond))
		if err := c.call("n1", &wire.Replicate{Key: []byte("k2"), Object: object("n9", 3, "x"), HintFor: "n2"}, &wire.Ack{}); err != nil {
			t.Fatalf("new hint for a healthy owner: %v", err)
		}
	})
}

// TestHintRefusedForGoodIsKept: a record the owner refuses for good
// (CodeTooLarge here) is kept on disk and counted in the status, logged
// once, and neither holds the owner's hint window nor stops its other
// records: the first pass keeps it, and the pass after a new hint delivers
// that.
func TestHintRefusedForGoodIsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		c.holdsFrom(c.pass("n1", 1), func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }, func() bool {
			st := c.status("n1")
			return st.HintsKept == 1 && len(st.HintOwners) == 0
		})
		waitUntil(first.Add(window + time.Millisecond)) // the kept record is older than the window
		wrote := time.Now()
		if err := c.call("n1", &wire.Replicate{Key: []byte("good"), Object: object("n9", 2, "ok"), HintFor: "n2"}, &wire.Ack{}); err != nil {
			t.Fatalf("new hint for the owner after its refused record aged past the window: %v", err)
		}
		delivered := c.nextPass("n1", wrote)
		c.holdsFrom(delivered, func() string { return fmt.Sprintf("n1 status %+v, owner got %q", c.status("n1"), fake.received()) }, func() bool {
			st := c.status("n1")
			return st.HintsDelivered == 1 && len(st.HintOwners) == 0
		})
		t.Logf("the new hint was delivered %v after it was written, at n1's next pass", delivered.Sub(wrote))
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
		if k := logs.keysOf("hint delivery: owner refused"); !slices.Equal(k, []string{`"bad"`}) {
			t.Errorf("the refusal names key %q, want the object key, quoted", k)
		}
		if got := fake.received(); slices.Index(got, "big") != 0 || slices.Index(got[1:], "big") != -1 {
			t.Errorf("the owner received %q: the refused record was sent again", got)
		}
	})
}

// TestHintDeadOwnerDoesNotStallOthers: while delivery to one owner hangs (a
// call that will only end at its timeout), another owner's hints are
// delivered: at the next pass, long before the node gives up on the hung
// call (handoffTimeout, 10s).
func TestHintDeadOwnerDoesNotStallOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		if now, want := time.Now(), c.pass("n1", 1); !now.Equal(want) {
			t.Errorf("n3 received its hint at %s, want %s: n1's first pass", c.at(now), c.at(want))
		}
		c.must("n1", &wire.Replicate{Key: []byte("for-n2"), Object: object("n9", 2, "y"), HintFor: "n2"}, &wire.Ack{})
		c.holdsFrom(c.pass("n1", 2), func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }, func() bool {
			return ownersOf(c.status("n1")) == "n3:1"
		})
		if n := logs.count("hint delivery failing", "n3"); n != 0 {
			t.Errorf("n2's hint was delivered only after n1 gave up on n3 (%d failures logged): the hung owner held it up", n)
		}
		if g := c.get("n2", "for-n2"); !g.Found {
			t.Errorf("n2 does not hold its hint")
		}
	})
}

// refuseTooLarge answers a handoff as an owner that holds smaller limits.
func refuseTooLarge() error {
	return fmt.Errorf("%w: the owner holds smaller limits", wire.ErrTooLarge)
}

// resolved is a one-sibling object that, merged into object("n9", 1, ...),
// leaves both siblings: what a client writing without context would add.
func resolved(value string) dvv.Set {
	return object("n8", 1, value)
}

// TestHintUnkeptDuringSweepIsDelivered: a write into a kept record, landing
// after the running sweep passed it, makes it pending again and is noted by
// the sweep, which therefore neither empties the owner's backlog (nor warns
// of a phantom): the record is delivered, by the next pass.
func TestHintUnkeptDuringSweepIsDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := newLogRecorder()
		c := newTestCluster(t, 2, func(cfg *storaged.Config) { cfg.Logger = slog.New(logs) })
		c.start("n1")
		// "bad" sorts, and so is delivered, before "ok1".
		c.must("n1", &wire.Replicate{Key: []byte("bad"), Object: object("n9", 1, "big"), HintFor: "n2"}, &wire.Ack{})
		c.must("n1", &wire.Replicate{Key: []byte("ok1"), Object: object("n9", 2, "x"), HintFor: "n2"}, &wire.Ack{})
		var once sync.Once
		fake := &fakeOwner{c: c, answer: func(_ context.Context, req *wire.Handoff) error {
			switch vals := strings.Join(values(req.Object), ","); {
			case string(req.Key) == "bad" && vals == "big":
				return refuseTooLarge()
			case string(req.Key) == "ok1":
				// "bad" was just refused and kept; a client writes into it.
				once.Do(func() {
					if err := c.call("n1", &wire.Replicate{Key: []byte("bad"), Object: resolved("fixed"), HintFor: "n2"}, &wire.Ack{}); err != nil {
						t.Errorf("write into the kept record: %v", err)
					}
				})
			}
			return nil
		}}
		fake.start(t, "n2")
		c.holdsFrom(c.pass("n1", 2), func() string { return fmt.Sprintf("n1 %+v, owner got %q", c.status("n1"), fake.received()) }, func() bool {
			st := c.status("n1")
			return st.Hints == 0 && st.HintsDelivered == 2
		})
		if got := fake.received(); !slices.ContainsFunc(got, withFixed) {
			t.Errorf("owner received %q, want the changed record", got)
		}
		if n := logs.count("hint backlog corrected", "n2"); n != 0 {
			t.Errorf("a phantom correction was logged %d times; there was none", n)
		}
	})
}

// TestHintKeepRacesWrite: when a write merges into a record while its
// handoff is in flight and the owner then refuses the bytes it was sent,
// the record is not kept: the owner has not seen what it holds now, which
// is delivered, by the next pass.
func TestHintKeepRacesWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		c.must("n1", &wire.Replicate{Key: []byte("bad"), Object: object("n9", 1, "big"), HintFor: "n2"}, &wire.Ack{})
		fake := &fakeOwner{c: c,
			meddle: func(context.Context) error { // during the first handoff
				return c.call("n1", &wire.Replicate{Key: []byte("bad"), Object: resolved("fixed"), HintFor: "n2"}, &wire.Ack{})
			},
			answer: func(_ context.Context, req *wire.Handoff) error {
				if strings.Join(values(req.Object), ",") == "big" {
					return refuseTooLarge()
				}
				return nil
			}}
		fake.start(t, "n2")
		c.holdsFrom(c.pass("n1", 2), func() string { return fmt.Sprintf("n1 %+v, owner got %q", c.status("n1"), fake.received()) }, func() bool {
			st := c.status("n1")
			return st.Hints == 0 && st.HintsDelivered == 1 && len(st.HintOwners) == 0
		})
		if st := c.status("n1"); st.HintsKept != 0 {
			t.Errorf("%d records kept, want none", st.HintsKept)
		}
	})
}

// TestHintKeptSurvivesRestart: the kept mark is durable: after a restart
// the kept record is counted as kept, so it neither holds the owner's hint
// window shut nor is sent again, and a write of new data into it makes it
// deliverable: the restarted node's next pass delivers it.
func TestHintKeptSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window = time.Second
		c := newTestCluster(t, 2, func(cfg *storaged.Config) { cfg.HintWindow = window })
		c.start("n1")
		first := time.Now()
		c.must("n1", &wire.Replicate{Key: []byte("bad"), Object: object("n9", 1, "big"), HintFor: "n2"}, &wire.Ack{})
		var down atomic.Bool
		fake := &fakeOwner{c: c, answer: func(_ context.Context, req *wire.Handoff) error {
			if down.Load() {
				return errors.New("fake owner: unavailable")
			}
			if strings.Join(values(req.Object), ",") == "big" {
				return refuseTooLarge()
			}
			return nil
		}}
		fake.start(t, "n2")
		c.holdsFrom(c.pass("n1", 1), func() string { return fmt.Sprintf("n1 %+v", c.status("n1")) }, func() bool { return c.status("n1").HintsKept == 1 })
		down.Store(true) // the owner goes away again
		c.stop("n1")
		c.start("n1")
		if st := c.status("n1"); st.HintsKept != 1 || len(st.HintOwners) != 0 {
			t.Fatalf("after restart: %d kept, book %q; want the record kept, nothing pending", st.HintsKept, ownersOf(st))
		}
		waitUntil(first.Add(window + time.Millisecond)) // the kept record is older than the window
		if err := c.call("n1", &wire.Replicate{Key: []byte("k2"), Object: object("n9", 3, "z"), HintFor: "n2"}, &wire.Ack{}); err != nil {
			t.Fatalf("after restart, a new hint: %v (book %q)", err, ownersOf(c.status("n1")))
		}
		c.must("n1", &wire.Replicate{Key: []byte("bad"), Object: resolved("fixed"), HintFor: "n2"}, &wire.Ack{})
		wrote := time.Now()
		down.Store(false)
		c.holdsFrom(c.nextPass("n1", wrote), func() string { return fmt.Sprintf("n1 %+v, owner got %q", c.status("n1"), fake.received()) }, func() bool {
			st := c.status("n1")
			return st.Hints == 0 && st.HintsKept == 0
		})
		got := fake.received()
		if n := countOf(got, "big"); n != 1 || !slices.ContainsFunc(got, withFixed) {
			t.Errorf("owner received %q: want the refused record sent once, then its changed version", got)
		}
	})
}

// withFixed reports whether a handoff's values include resolved("fixed").
func withFixed(vals string) bool { return slices.Contains(strings.Split(vals, ","), "fixed") }

// countOf counts the elements of s equal to v.
func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// TestHintKeptCountsTowardCaps: records the owner refused for good count
// toward its key and byte caps (though not its window), so an owner that
// refuses everything cannot make a fallback hold without bound; kept
// records still take merges of new data within the caps.
func TestHintKeptCountsTowardCaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, func(cfg *storaged.Config) {
			cfg.HintMaxKeys = 2
			cfg.HintMaxBytes = 4096
		})
		c.start("n1")
		fake := &fakeOwner{c: c, answer: func(context.Context, *wire.Handoff) error { return refuseTooLarge() }}
		fake.start(t, "n2")
		for _, k := range []string{"a", "b"} {
			c.must("n1", &wire.Replicate{Key: []byte(k), Object: object("n9", 1, "v"), HintFor: "n2"}, &wire.Ack{})
		}
		c.holdsFrom(c.pass("n1", 1), func() string { return fmt.Sprintf("n1 %+v", c.status("n1")) }, func() bool { return c.status("n1").HintsKept == 2 })
		err := c.call("n1", &wire.Replicate{Key: []byte("c"), Object: object("n9", 1, "v"), HintFor: "n2"}, &wire.Ack{})
		var re *wire.RemoteError
		if !errors.As(err, &re) || re.Code != wire.CodeHintRefused || !strings.Contains(err.Error(), "key cap") {
			t.Fatalf("a third record for an owner with two kept: %v, want a key cap refusal", err)
		}
		big := object("n7", 1, strings.Repeat("x", 5000))
		err = c.call("n1", &wire.Replicate{Key: []byte("a"), Object: big, HintFor: "n2"}, &wire.Ack{})
		if !errors.As(err, &re) || re.Code != wire.CodeHintRefused || !strings.Contains(err.Error(), "byte cap") {
			t.Fatalf("growing a kept record past the byte cap: %v, want a byte cap refusal", err)
		}
		if err := c.call("n1", &wire.Replicate{Key: []byte("a"), Object: object("n8", 1, "w"), HintFor: "n2"}, &wire.Ack{}); err != nil {
			t.Fatalf("a merge into a kept record within the caps: %v", err)
		}
	})
}

// TestHintDeliverySharesCommits: a fallback delivering 256 hints keeps a
// window of them in flight, so its deletes, and the owner's merges, share
// group commits: fewer commits than records on both sides. The control
// delivers one record at a time and takes a commit per record on each
// side, which the same measure tells apart.
func TestHintDeliverySharesCommits(t *testing.T) {
	for _, window := range []int{0, 1} {
		t.Run(fmt.Sprintf("window=%d", window), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				if window > 0 {
					defer storaged.SetDeliveryWindow(window)()
				}
				const hints = 256
				c := newTestCluster(t, 2, nil)
				c.start("n1")
				for i := range hints {
					k := fmt.Sprintf("share-%03d", i)
					c.must("n1", &wire.Replicate{Key: []byte(k), Object: object("n9", uint64(i+1), "v"), HintFor: "n2"}, &wire.Ack{})
				}
				c.start("n2")
				before1, before2 := c.status("n1").Commits, c.status("n2").Commits
				c.drained("n1", time.Minute)
				deletes, merges := c.status("n1").Commits-before1, c.status("n2").Commits-before2
				t.Logf("window %d: %d hints delivered in %d commits here and %d on the owner", window, hints, deletes, merges)
				if window == 1 {
					if deletes < hints || merges < hints {
						t.Fatalf("one record at a time took %d and %d commits for %d records; the control expects one each", deletes, merges, hints)
					}
					return
				}
				if deletes > hints/2 || merges > hints/2 {
					t.Fatalf("delivering %d hints took %d commits here and %d on the owner; want at most %d each (shared group commits)",
						hints, deletes, merges, hints/2)
				}
			})
		})
	}
}

// TestHintsFollowTheRing: hints a fallback holds for a node that has left
// the ring (the cluster restarted without it) are delivered to each key's
// current primaries, the fallback itself among them merging into its own
// objects, and then deleted. The control is the same check made while the
// owner is still a member but down: the other primaries lack the keys and
// the hints stay pending.
func TestHintsFollowTheRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cluster []ring.Node // the ring the nodes start with (nil: all four)
		c := newTestCluster(t, 4, func(cfg *storaged.Config) {
			if cluster != nil {
				cfg.InitialCluster = cluster
			}
		})
		for _, id := range []string{"n1", "n2", "n3"} {
			c.start(id)
		}
		// Keys n4 replicates in the four-node ring: their hints wait for it
		// while it is a member.
		four, err := ring.New(ring.DefaultPartitions, c.members)
		if err != nil {
			t.Fatal(err)
		}
		const keys = 40
		objs := make(map[string]dvv.Set, keys)
		for i := 0; len(objs) < keys; i++ {
			k := fmt.Sprintf("left-%03d", i)
			primaries, _ := four.Preference([]byte(k), 3)
			if !slices.ContainsFunc(primaries, func(n ring.Node) bool { return n.ID == "n4" }) {
				continue
			}
			objs[k] = object("n9", uint64(i+1), "v"+k)
			c.must("n1", &wire.Replicate{Key: []byte(k), Object: objs[k], HintFor: "n4"}, &wire.Ack{})
		}
		held := func(id string) int {
			n := 0
			for k, obj := range objs {
				if g := c.get(id, k); g.Found && g.Object.Equal(obj) {
					n++
				}
			}
			return n
		}
		waitUntil(c.pass("n1", 3))
		if st := c.status("n1"); st.Hints != keys || held("n2") != 0 {
			t.Fatalf("control: with n4 a member but down, n1 holds %d hints and n2 %d of the keys; want %d and 0", st.Hints, held("n2"), keys)
		}

		cluster = c.members[:3] // n4 has left
		for _, id := range []string{"n1", "n2", "n3"} {
			c.stop(id)
		}
		for _, id := range []string{"n2", "n3", "n1"} {
			c.start(id)
		}
		c.drained("n1", time.Minute)
		for _, id := range []string{"n1", "n2", "n3"} {
			if n := held(id); n != keys {
				t.Errorf("%s holds %d of the %d keys whose hints followed the ring; want all", id, n, keys)
			}
		}
		if st := c.status("n1"); st.HintsRetained != 0 || len(st.HintOwners) != 0 {
			t.Errorf("after delivery n1 keeps %d retained records and owners %v; want none", st.HintsRetained, st.HintOwners)
		}
	})
}

// drained waits, in virtual time, until member id holds no pending hint,
// failing the test after within, and lets the bubble settle.
func (c *testCluster) drained(id string, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for c.status(id).Hints > 0 {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s's hints not delivered within %v: %+v", id, within, c.status(id))
		}
		time.Sleep(100 * time.Millisecond)
	}
	synctest.Wait()
}
