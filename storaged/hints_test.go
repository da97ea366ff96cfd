package storaged_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/pki"
)

// TestHintedReplicateIsDurable: a hinted replica goes to the hints bucket,
// not the objects, is served by reads, and survives a restart, backlog
// accounting included: each owner's oldest hint is when it was written.
func TestHintedReplicateIsDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3, nil)
		c.start("n1") // n2 and n3 stay down: nothing is delivered
		// The writes below take no virtual time: they all happen now.
		wrote := time.Now()
		objA, objB := object("n9", 1, "a"), object("n9", 2, "b")
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: objA, HintFor: "n3"}, &wire.Ack{})
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: objB, HintFor: "n2"}, &wire.Ack{})
		c.must("n1", &wire.Replicate{Key: []byte("k2"), Object: objB, HintFor: "n2"}, &wire.Ack{})
		c.must("n1", &wire.Replicate{Key: []byte("k2"), Object: objB, HintFor: "n2"}, &wire.Ack{}) // already held

		before := c.status("n1")
		if before.Objects != 0 || before.Hints != 3 {
			t.Fatalf("status: %d objects, %d hints; want 0 and 3", before.Objects, before.Hints)
		}
		if got := ownersOf(before); got != "n2:2,n3:1" {
			t.Fatalf("hint owners = %s, want n2:2,n3:1 (sorted by owner)", got)
		}
		for _, o := range before.HintOwners {
			if o.Bytes == 0 || o.OldestMS != wrote.UnixMilli() {
				t.Errorf("backlog of %s = %+v, want bytes and oldest %d, when its hints were written", o.Owner, o, wrote.UnixMilli())
			}
		}
		if g := c.get("n1", "k"); !g.Found || !slices.Equal(values(g.Object), []string{"a", "b"}) {
			t.Fatalf("get k = %v %q, want found a,b", g.Found, values(g.Object))
		}

		c.stop("n1")
		c.start("n1")
		after := c.status("n1")
		if after.Objects != 0 || after.Hints != 3 || !slices.Equal(after.HintOwners, before.HintOwners) {
			t.Fatalf("after restart: %d objects, %d hints, owners %+v; want 0, 3, %+v", after.Objects, after.Hints, after.HintOwners, before.HintOwners)
		}
		if g := c.get("n1", "k2"); !g.Found || !g.Object.Equal(objB) {
			t.Fatalf("get k2 after restart = %v %q, want b", g.Found, values(g.Object))
		}
	})
}

// ownersOf summarises a status's hint owners as "owner:keys,...".
func ownersOf(st wire.StatusOK) string {
	var parts []string
	for _, o := range st.HintOwners {
		parts = append(parts, fmt.Sprintf("%s:%d", o.Owner, o.Keys))
	}
	return strings.Join(parts, ",")
}

// TestGetMergesHints: a read answers with the merge of the node's replica and
// every hint it holds for the key, and only for that key.
func TestGetMergesHints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3, nil)
		c.start("n1")
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: object("n9", 1, "own")}, &wire.Ack{})
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: object("n9", 2, "for-n2"), HintFor: "n2"}, &wire.Ack{})
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: object("n9", 3, "for-n3"), HintFor: "n3"}, &wire.Ack{})
		// Neighbours in the bucket's byte order that must not leak into k's read.
		c.must("n1", &wire.Replicate{Key: []byte("k2"), Object: object("n9", 4, "other"), HintFor: "n2"}, &wire.Ack{})
		c.must("n1", &wire.Replicate{Key: []byte("j"), Object: object("n9", 5, "other"), HintFor: "n2"}, &wire.Ack{})
		c.must("n1", &wire.Replicate{Key: []byte("only-hinted"), Object: object("n9", 6, "h"), HintFor: "n3"}, &wire.Ack{})

		if g := c.get("n1", "k"); !g.Found || !slices.Equal(values(g.Object), []string{"own", "for-n2", "for-n3"}) {
			t.Errorf("get k = %v %q, want own, for-n2, for-n3", g.Found, values(g.Object))
		}
		if g := c.get("n1", "only-hinted"); !g.Found || !slices.Equal(values(g.Object), []string{"h"}) {
			t.Errorf("get of a key held only as a hint = %v %q, want found h", g.Found, values(g.Object))
		}
		if g := c.get("n1", "absent"); g.Found || len(g.Object.Siblings) != 0 {
			t.Errorf("get of an absent key = %v %q, want not found", g.Found, values(g.Object))
		}
		if g := c.get("n1", "k\x00"); g.Found {
			t.Errorf("get of k\\x00 found %q", values(g.Object))
		}
	})
}

// TestHintForValidation: a hint must name another member of the ring.
func TestHintForValidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		for _, tc := range []struct {
			owner ring.NodeID
			want  string
		}{
			{"n1", "this node"},
			{"n7", "not a member"},
		} {
			err := c.call("n1", &wire.Replicate{Key: []byte("k"), Object: object("n9", 1, "v"), HintFor: tc.owner}, &wire.Ack{})
			if !errors.Is(err, wire.ErrBadRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("replicate hinted for %s: %v, want a bad request saying %q", tc.owner, err, tc.want)
			}
			err = c.call("n1", &wire.Coordinate{Key: []byte("k"), Value: []byte("v"), HintFor: tc.owner}, &wire.Object{})
			if !errors.Is(err, wire.ErrBadRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("coordinate hinted for %s: %v, want a bad request saying %q", tc.owner, err, tc.want)
			}
		}
		if st := c.status("n1"); st.Hints != 0 || st.Objects != 0 {
			t.Errorf("refused requests wrote something: %+v", st)
		}
	})
}

// TestHintDelivery: hints for a node that is down stay, while delivery
// passes fail and back off; once it starts they are delivered (the owner
// holds them as objects) and deleted, exactly when the backoff ends.
func TestHintDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		const keys = 20
		for i := range keys {
			k := fmt.Sprintf("key-%02d", i)
			c.must("n1", &wire.Replicate{Key: []byte(k), Object: object("n9", uint64(i+1), "v"+k), HintFor: "n2"}, &wire.Ack{})
		}
		c.coordinate("n1", "n2", "key-00", "coordinated", nil)

		// Delivery passes fail: n2 is down. The first pass dials it and
		// fails handshakeTimeout later; the next comes hint.Backoff(1) after
		// that and fails the same way. Nothing may be lost meanwhile.
		failed := c.pass("n1", 1).Add(handshakeTimeout + hint.Backoff(1) + handshakeTimeout)
		waitUntil(failed)
		if st := c.status("n1"); st.Hints != keys || st.HintsDelivered != 0 {
			t.Fatalf("owner down: %d hints, %d delivered; want %d kept", st.Hints, st.HintsDelivered, keys)
		}

		// n2 starts while n1 backs off its second failure: the next pass,
		// hint.Backoff(2) after that failure, delivers everything at once.
		c.start("n2")
		started := time.Now()
		delivered := failed.Add(hint.Backoff(2))
		c.holdsSoonAfter(delivered, deliverySlack, func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }, func() bool {
			st := c.status("n1")
			return st.Hints == 0 && len(st.HintOwners) == 0 && st.HintsDelivered == keys
		})
		t.Logf("delivered %d hints %v after the owner started, at %s: the end of the second backoff", keys, delivered.Sub(started), c.at(delivered))
		if st := c.status("n2"); st.Objects != keys {
			t.Errorf("owner holds %d objects, want %d", st.Objects, keys)
		}
		if g := c.get("n2", "key-00"); !slices.Equal(values(g.Object), []string{"coordinated", "vkey-00"}) { // n1's dot sorts before n9's
			t.Errorf("owner's key-00 = %q, want both writes", values(g.Object))
		}
		if g := c.get("n1", "key-05"); g.Found {
			t.Errorf("fallback still answers key-05 after delivery: %q", values(g.Object))
		}
	})
}

// TestHintDeliveredAfterOwnerRestart: hints written while the owner is down
// reach it once it restarts, both from a fallback that stayed up (holding a
// connection to the old owner process that it must give up on) and from a
// fallback that restarted meanwhile too (its backlog rebuilt from disk):
// the live fallback at its next pass, the restarted one once the backoff
// from its failed first pass ends.
func TestHintDeliveredAfterOwnerRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		c.start("n2")
		c.must("n1", &wire.Replicate{Key: []byte("a"), Object: object("n9", 1, "a"), HintFor: "n2"}, &wire.Ack{})
		status := func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }
		c.holdsFrom(c.pass("n1", 1), status, func() bool { return c.status("n1").Hints == 0 })

		// The owner stops while the fallback stays up with its connection to
		// it; its graceful stop closes that connection, so the next pass
		// dials the new process.
		c.stop("n2")
		c.must("n1", &wire.Replicate{Key: []byte("b"), Object: object("n9", 2, "b"), HintFor: "n2"}, &wire.Ack{})
		c.start("n2")
		started := time.Now()
		delivered := c.nextPass("n1", started)
		c.holdsFrom(delivered, status, func() bool { return c.status("n1").Hints == 0 })
		t.Logf("live fallback delivered %v after the owner restarted, at its next pass", delivered.Sub(started))

		// Now the fallback restarts too while the owner is down: its first
		// pass dials the owner and fails handshakeTimeout later, then it
		// backs off for hint.Backoff(1).
		c.stop("n2")
		c.must("n1", &wire.Replicate{Key: []byte("c"), Object: object("n9", 3, "c"), HintFor: "n2"}, &wire.Ack{})
		c.stop("n1")
		c.start("n1")
		failed := c.pass("n1", 1).Add(handshakeTimeout)
		waitUntil(failed) // let a pass fail and back off
		if st := c.status("n1"); st.Hints != 1 || ownersOf(st) != "n2:1" {
			t.Fatalf("owner down: %d hints, owners %s; want 1 kept for n2", st.Hints, ownersOf(st))
		}
		c.start("n2")
		started = time.Now()
		delivered = failed.Add(hint.Backoff(1))
		c.holdsFrom(delivered, status, func() bool { return c.status("n1").Hints == 0 })
		t.Logf("restarted fallback delivered %v after the owner restarted, at the end of its backoff", delivered.Sub(started))
		for _, k := range []string{"a", "b", "c"} {
			if g := c.get("n2", k); !g.Found {
				t.Errorf("owner does not hold %s", k)
			}
		}
	})
}

// TestHintChangedDuringDeliveryIsKept: a record that changes while it is
// being delivered is not deleted when the owner acknowledges the older
// copy; the next pass delivers the new one.
func TestHintChangedDuringDeliveryIsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		objA, objB := object("n9", 1, "a"), object("n9", 2, "b")
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: objA, HintFor: "n2"}, &wire.Ack{})

		// n2 is a fake: on its first handoff it writes another hinted replica of
		// the key to n1 before acknowledging, as a driver racing the delivery
		// would.
		fake := &fakeOwner{c: c, meddle: func(ctx context.Context) error {
			return c.call("n1", &wire.Replicate{Key: []byte("k"), Object: objB, HintFor: "n2"}, &wire.Ack{})
		}}
		fake.start(t, "n2")
		// Hints counts the bucket, which is empty once the delete commits;
		// HintsDelivered is counted just after: wait for both. The first
		// pass sends a and leaves the record, changed meanwhile; the second
		// sends a,b and deletes it.
		c.holdsFrom(c.pass("n1", 2), func() string { return fmt.Sprintf("handoffs %q, n1 %+v", fake.received(), c.status("n1")) }, func() bool {
			st := c.status("n1")
			return st.Hints == 0 && st.HintsDelivered > 0
		})
		got := fake.received()
		if len(got) != 2 || got[0] != "a" || got[1] != "a,b" {
			t.Fatalf("the owner received %q, want [a a,b]: the changed record delivered again", got)
		}
		if st := c.status("n1"); st.HintsDelivered != 1 {
			t.Errorf("delivered = %d, want 1", st.HintsDelivered)
		}
	})
}

// fakeOwner serves handoffs for a member as a test double, recording what
// it receives; meddle runs before it acknowledges its first handoff, and
// answer, if set, decides the answer to each handoff (nil: acknowledge).
type fakeOwner struct {
	c      *testCluster
	meddle func(context.Context) error
	answer func(ctx context.Context, req *wire.Handoff) error

	mu   sync.Mutex
	got  []string
	errs []error
}

func (f *fakeOwner) start(t *testing.T, id string) {
	t.Helper()
	ep, err := wire.NewEndpoint(wire.EndpointConfig{
		PacketConn: f.c.net.Listen(f.c.addr(id)), TLS: f.c.material(pki.RoleNode, id),
		ClusterID: testClusterID, Handler: f, Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ep.Serve(ctx) }()
	t.Cleanup(func() {
		f.c.stopAll()
		cancel()
		<-done
		ep.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if err := errors.Join(f.errs...); err != nil {
			t.Errorf("fake owner: %v", err)
		}
	})
}

func (f *fakeOwner) Handle(ctx context.Context, _ wire.Peer, typ wire.Type, body []byte) (any, error) {
	if typ != wire.TypeHandoff {
		return nil, fmt.Errorf("%w: fake owner serves handoffs only", wire.ErrUnknownType)
	}
	var req wire.Handoff
	if err := wire.Decode(body, &req); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.got = append(f.got, strings.Join(values(req.Object), ","))
	first := len(f.got) == 1
	f.mu.Unlock()
	if first && f.meddle != nil {
		if err := f.meddle(ctx); err != nil {
			f.mu.Lock()
			f.errs = append(f.errs, err)
			f.mu.Unlock()
		}
	}
	if f.answer != nil {
		if err := f.answer(ctx, &req); err != nil {
			return nil, err
		}
	}
	return &wire.Ack{}, nil
}

func (f *fakeOwner) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// TestHintCaps: per-owner key and byte caps refuse new hints with
// CodeHintRefused, while merges into records that do not grow past the caps
// still go through, and other owners are unaffected.
func TestHintCaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3, func(cfg *storaged.Config) {
			cfg.HintMaxKeys = 2
			cfg.HintMaxBytes = 4096
		})
		c.start("n1")
		rep := func(key, value string, owner ring.NodeID) error {
			return c.call("n1", &wire.Replicate{Key: []byte(key), Object: object("n9", 1, value), HintFor: owner}, &wire.Ack{})
		}
		for _, k := range []string{"a", "b"} {
			if err := rep(k, "v", "n2"); err != nil {
				t.Fatal(err)
			}
		}
		wantRefused := func(err error, limit string) {
			t.Helper()
			var re *wire.RemoteError
			if !errors.As(err, &re) || re.Code != wire.CodeHintRefused || !errors.Is(err, wire.ErrHintRefused) {
				t.Fatalf("got %v, want a %s refusal (CodeHintRefused)", err, limit)
			}
			if !strings.Contains(err.Error(), `"n2"`) || !strings.Contains(err.Error(), limit) {
				t.Errorf("refusal %q does not name owner n2 and the %s", err, limit)
			}
		}
		wantRefused(rep("c", "v", "n2"), "key cap")
		err := c.call("n1", &wire.Coordinate{Key: []byte("c"), Value: []byte("v"), HintFor: "n2"}, &wire.Object{})
		wantRefused(err, "key cap")
		// A merge into a record n1 holds creates nothing: accepted.
		if err := c.call("n1", &wire.Replicate{Key: []byte("a"), Object: object("n8", 1, "w"), HintFor: "n2"}, &wire.Ack{}); err != nil {
			t.Fatalf("merge into an existing record under the key cap: %v", err)
		}
		c.coordinate("n1", "n2", "b", "x", nil)
		// ...unless it would grow the backlog past the byte cap.
		big := object("n7", 1, strings.Repeat("x", 5000))
		wantRefused(c.call("n1", &wire.Replicate{Key: []byte("a"), Object: big, HintFor: "n2"}, &wire.Ack{}), "byte cap")
		// Other owners have backlogs of their own.
		if err := rep("c", "v", "n3"); err != nil {
			t.Fatalf("hint for n3 while n2 is capped: %v", err)
		}
		st := c.status("n1")
		if st.HintsRefused != 3 || ownersOf(st) != "n2:2,n3:1" {
			t.Errorf("status: refused %d, owners %s; want 3 and n2:2,n3:1", st.HintsRefused, ownersOf(st))
		}
		if g := c.get("n1", "a"); !slices.Equal(values(g.Object), []string{"w", "v"}) {
			t.Errorf("a = %q, want the accepted merge only", values(g.Object))
		}
	})
}

// TestHintWindow: once the oldest hint for an owner is older than the
// window, hints that would create records for it are refused (from the
// first write after the window has passed); merges into its records are
// not.
func TestHintWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window, step = 2 * time.Second, 100 * time.Millisecond
		c := newTestCluster(t, 2, func(cfg *storaged.Config) { cfg.HintWindow = window })
		c.start("n1")
		first := time.Now()
		rep := func(key, value string) error {
			return c.call("n1", &wire.Replicate{Key: []byte(key), Object: object("n9", 1, value), HintFor: "n2"}, &wire.Ack{})
		}
		if err := rep("k0", "v"); err != nil {
			t.Fatal(err)
		}
		var err error
		for i := 1; err == nil; i++ {
			err = rep(fmt.Sprintf("k%d", i), "v")
			if err == nil && time.Since(first) > testTimeout {
				t.Fatalf("no refusal %v after the first hint (window %v)", time.Since(first), window)
			}
			if err == nil {
				time.Sleep(step)
			}
		}
		if age := time.Since(first); !errors.Is(err, wire.ErrHintRefused) || !strings.Contains(err.Error(), "hint window") {
			t.Fatalf("after %v: %v, want a hint window refusal", age, err)
		} else if age < window {
			t.Fatalf("refused after %v, before the %v window passed: %v", age, window, err)
		} else if age != window+step {
			// The write at exactly the window's age is still admitted: the
			// oldest hint must be older than the window.
			t.Fatalf("refused after %v, want %v: the first write once the oldest hint is older than the %v window", age, window+step, window)
		} else {
			t.Logf("refused %v after the first hint (window %v, a write every %v)", age, window, step)
		}
		if err := c.call("n1", &wire.Replicate{Key: []byte("k0"), Object: object("n8", 1, "w"), HintFor: "n2"}, &wire.Ack{}); err != nil {
			t.Fatalf("merge into an existing record after the window: %v", err)
		}
		if g := c.get("n1", "k0"); !slices.Equal(values(g.Object), []string{"w", "v"}) {
			t.Errorf("k0 = %q, want the merge accepted", values(g.Object))
		}
	})
}

// TestHintedCoordinateActor: a fallback coordinates under the hint record's
// own actor, with counters that grow within the record, and keeps that
// actor once the record is delivered (it is retained), so a later outage's
// write does not add an actor to the key's clock. The control (the mutant
// that deletes delivered records) mints a new actor.
func TestHintedCoordinateActor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		self := c.status("n1").Epoch

		o1 := c.coordinate("n1", "n2", "k", "a", nil)
		o2 := c.coordinate("n1", "n2", "k", "b", o1.Context())
		o3 := c.coordinate("n1", "n2", "k", "c", nil) // blind: concurrent with b
		dot := func(o dvv.Set, i int) dvv.Dot {
			t.Helper()
			if len(o.Siblings) <= i {
				t.Fatalf("object %v has no sibling %d", o, i)
			}
			return o.Siblings[i].Dot
		}
		actor := dot(o1, 0).Actor
		if actor.Node != "n1" || actor.Epoch == 0 || actor.Epoch == self {
			t.Fatalf("hinted dot actor %v, want n1 with a minted epoch other than the node's %016x", actor, self)
		}
		if d := dot(o1, 0); d.Counter != 1 {
			t.Errorf("first hinted dot %v, want counter 1", d)
		}
		if len(o2.Siblings) != 1 || dot(o2, 0) != (dvv.Dot{Actor: actor, Counter: 2}) {
			t.Errorf("second write over the first's context: %v, want one sibling %v:2", o2.Siblings, actor)
		}
		if len(o3.Siblings) != 2 || dot(o3, 1) != (dvv.Dot{Actor: actor, Counter: 3}) {
			t.Errorf("blind third write: %v, want b and c, c at %v:3", o3.Siblings, actor)
		}
		// An ordinary write through n1 uses n1's actor for the key, apart
		// from the hint's.
		own := c.coordinate("n1", "", "k", "own", nil)
		if d := dot(own, 0); d.Actor.Node != "n1" || d.Actor.Epoch == self || d.Actor == actor || d.Counter != 1 {
			t.Errorf("ordinary coordinate dot %v, want n1's own actor for the key at 1", d)
		}

		c.start("n2") // before n1's first pass, which delivers
		c.holdsFrom(c.pass("n1", 1), func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }, func() bool {
			return c.status("n1").Hints == 0
		})
		if g := c.get("n2", "k"); !g.Object.Equal(o3) {
			t.Errorf("owner holds %v, want the hint's object %v", g.Object, o3)
		}
		if st := c.status("n1"); st.Hints != 0 {
			t.Errorf("n1 reports %d hints once the record was delivered, want 0 (a retained record is none)", st.Hints)
		}
		o4 := c.coordinate("n1", "n2", "k", "d", o3.Context())
		if d := dot(o4, 0); d != (dvv.Dot{Actor: actor, Counter: 4}) {
			t.Errorf("hinted dot after the record was delivered: %v, want %v:4 (the retained record's actor)", d, actor)
		}
	})
}

// TestConfigValidateHints: negative hint settings are refused, all at once.
func TestConfigValidateHints(t *testing.T) {
	err := storaged.Config{HintMaxBytes: -1, HintMaxKeys: -1, HintWindow: -1, HintRate: -1, HintInterval: -1}.Validate()
	for _, want := range []string{"hint max bytes", "hint max keys", "hint window", "hint rate", "hint interval"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to name %s", err, want)
		}
	}
}
