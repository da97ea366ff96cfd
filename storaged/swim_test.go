package storaged_test

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/internal/sim"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/ringsync/swim"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
)

// The failure detector's shell (storaged/swim.go) on the simulated network,
// in virtual time. Issue 11's target: every live member marks a crashed node
// dead within 2.5 s, and no live member is ever marked dead.

// swimDetectBound is issue 11's bound on the time from a crash until every
// live member marks the node dead.
const swimDetectBound = 2500 * time.Millisecond

// swimOn turns the detector on with sc, and anti-entropy and the tree
// verify off (they are not what these tests are about).
func swimOn(sc swim.Config) func(*storaged.Config) {
	return func(cfg *storaged.Config) {
		cfg.Swim = sc
		cfg.AntiEntropyInterval = -1
		cfg.TreeVerifyInterval = -1
	}
}

// swimEvent is one detector event, and the node that saw it.
type swimEvent struct {
	self ring.NodeID
	ev   swim.Event
}

// swimRecorder keeps every detector event of the test's nodes.
type swimRecorder struct {
	mu  sync.Mutex
	evs []swimEvent
}

// recordSwim installs a recorder for the rest of the test.
func recordSwim(t *testing.T) *swimRecorder {
	r := &swimRecorder{}
	t.Cleanup(storaged.SetSwimObserver(func(self ring.NodeID, ev swim.Event) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.evs = append(r.evs, swimEvent{self, ev})
	}))
	return r
}

// falseDeaths returns every declaration, in [from, to), by a node of up that
// a node of up is dead or left: each is false, both being up and able to
// reach each other all along.
func (r *swimRecorder) falseDeaths(up []string, from, to time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		if (e.ev.To == swim.Dead || e.ev.To == swim.Left) && !e.ev.At.Before(from) && e.ev.At.Before(to) &&
			slices.Contains(up, string(e.self)) && slices.Contains(up, string(e.ev.Node)) {
			out = append(out, fmt.Sprintf("%s held %s %s at %v (by %s)", e.self, e.ev.Node, e.ev.To, e.ev.At.Sub(from), e.ev.By))
		}
	}
	return out
}

// first returns when observer first saw target enter state at or after
// since, or the zero time.
func (r *swimRecorder) first(observer, target string, state swim.State, since time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.evs {
		if string(e.self) == observer && string(e.ev.Node) == target && e.ev.To == state && !e.ev.At.Before(since) {
			return e.ev.At
		}
	}
	return time.Time{}
}

// hosts returns the simulated hosts (ip addresses) of members ids.
func (c *testCluster) hosts(ids ...string) []string {
	c.t.Helper()
	var out []string
	for _, id := range ids {
		h, _, err := net.SplitHostPort(c.addr(id))
		if err != nil {
			c.t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

// startAll starts every member.
func (c *testCluster) startAll() {
	c.t.Helper()
	for _, m := range c.members {
		c.start(string(m.ID))
	}
}

// within checks that every observer saw target enter state within bound
// of since, and logs how long each took.
func (c *testCluster) within(r *swimRecorder, observers []string, target string, state swim.State, since time.Time, bound time.Duration) {
	c.t.Helper()
	for _, o := range observers {
		at := r.first(o, target, state, since)
		if at.IsZero() || at.Sub(since) > bound {
			c.t.Errorf("%s did not mark %s %s within %v (at %v)", o, target, state, bound, at.Sub(since))
			continue
		}
		c.t.Logf("%s marked %s %s after %v", o, target, state, at.Sub(since))
	}
}

var swimLive4 = []string{"n1", "n2", "n3", "n4"}

// TestSwimCutNodeDeclaredDead: a node cut off from the other four (what a
// kill -9 looks like to them) is marked dead by every one of them within
// 2.5 s, shows dead in their status, and nobody else was ever marked dead.
func TestSwimCutNodeDeclaredDead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := recordSwim(t)
		c := newTestCluster(t, 5, swimOn(swim.Config{}))
		c.startAll()
		waitUntil(time.Now().Add(3 * time.Second))
		cut := time.Now()
		c.net.Cut(c.hosts("n5"), c.hosts(swimLive4...))
		waitUntil(cut.Add(swimDetectBound))
		c.within(rec, swimLive4, "n5", swim.Dead, cut, swimDetectBound)
		if f := rec.falseDeaths(swimLive4, c.t0, time.Now()); len(f) > 0 {
			t.Errorf("false deaths: %v", f)
		}
		st := c.status("n1")
		want := []wire.SwimMember{{Node: "n1", State: "alive"}, {Node: "n2", State: "alive"}, {Node: "n3", State: "alive"},
			{Node: "n4", State: "alive"}, {Node: "n5", State: "dead"}}
		var got []wire.SwimMember
		for _, m := range st.Swim {
			got = append(got, wire.SwimMember{Node: m.Node, State: m.State}) // incarnations and instants vary
		}
		if !slices.Equal(got, want) || st.SwimHealth < 1 {
			t.Errorf("n1's status shows %+v health %d, want %+v", got, st.SwimHealth, want)
		}
		if c.running["n1"].srv.Alive("n5") || !c.running["n1"].srv.Alive("n2") {
			t.Error("n1's Alive disagrees with its detector")
		}
	})
}

// TestSwimNoFalseDeaths: five nodes over a network that delays, reorders
// and loses packets run 60 s with nobody marked dead.
func TestSwimNoFalseDeaths(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := recordSwim(t)
		c := newTestCluster(t, 5, swimOn(swim.Config{}))
		c.net.SetLink(sim.Link{Latency: time.Millisecond, Jitter: 4 * time.Millisecond, Drop: 0.05})
		c.startAll()
		waitUntil(c.t0.Add(60 * time.Second))
		all := append(slices.Clone(swimLive4), "n5")
		if f := rec.falseDeaths(all, c.t0, time.Now()); len(f) > 0 {
			t.Errorf("%d false deaths in 60 s: %v", len(f), f)
		}
		// The run did what it says: packets were lost, and traffic went on.
		st := c.net.Stats()
		if st.Dropped == 0 || st.Delivered < 5_000 {
			t.Errorf("network: %+v; want losses and steady traffic", st)
		}
		t.Logf("network: %+v", st)
	})
}

// TestSwimFalseDeathCheckerCatches is the negative control of the checker
// above: a detector tuned absurdly (probe timeout under the network's round
// trip, suspicions that end at once, no local health) marks live members
// dead, and falseDeaths reports it.
func TestSwimFalseDeathCheckerCatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := recordSwim(t)
		c := newTestCluster(t, 5, swimOn(swim.Config{ProbeInterval: 3 * time.Millisecond, ProbeTimeout: time.Millisecond,
			SuspicionMult: 1, SuspicionMaxMult: 1, AwarenessMax: 1}))
		c.net.SetLink(sim.Link{Latency: 2 * time.Millisecond})
		c.startAll()
		waitUntil(time.Now().Add(500 * time.Millisecond))
		all := append(slices.Clone(swimLive4), "n5")
		if f := rec.falseDeaths(all, c.t0, time.Now()); len(f) == 0 {
			t.Error("the checker found no false death under an absurd tuning")
		}
	})
}

// TestSwimRestartedNodeAlive: a node cut off, marked dead, stopped (its
// goodbye lost to the cut) and restarted after the cut heals is alive again
// everywhere within a second: it starts knowing every member alive, the
// first answer tells it of its death, and it refutes.
func TestSwimRestartedNodeAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := recordSwim(t)
		c := newTestCluster(t, 5, swimOn(swim.Config{}))
		c.startAll()
		waitUntil(time.Now().Add(time.Second))
		cut := time.Now()
		c.net.Cut(c.hosts("n5"), c.hosts(swimLive4...))
		waitUntil(cut.Add(swimDetectBound))
		c.within(rec, swimLive4, "n5", swim.Dead, cut, swimDetectBound)
		c.stop("n5")
		c.net.Uncut(c.hosts("n5"), c.hosts(swimLive4...))
		restart := time.Now()
		restore := storaged.SetSwimNoRecall() // the restart alone must bring it back
		c.start("n5")
		waitUntil(restart.Add(time.Second))
		restore()
		c.within(rec, swimLive4, "n5", swim.Alive, restart, time.Second)
		all := append(slices.Clone(swimLive4), "n5")
		if f := rec.falseDeaths(all, restart, time.Now()); len(f) > 0 {
			t.Errorf("false deaths after the restart: %v", f)
		}
	})
}

// TestSwimHealedPartition: a node cut off for 90 s is marked dead and
// marks the others dead (its suspicions, stretched by its local health,
// end after 48 s at most); once the cut heals, each side's pings of the
// members it holds dead (recall) make the group whole again within 2 s.
// Without them (the mutant), nothing crosses: both sides hold each other
// dead for good.
func TestSwimHealedPartition(t *testing.T) {
	for _, mutant := range []bool{false, true} {
		t.Run(fmt.Sprintf("recall=%v", !mutant), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				if mutant {
					t.Cleanup(storaged.SetSwimNoRecall())
				}
				rec := recordSwim(t)
				c := newTestCluster(t, 5, swimOn(swim.Config{}))
				c.startAll()
				waitUntil(time.Now().Add(time.Second))
				c.net.Cut(c.hosts("n5"), c.hosts(swimLive4...))
				waitUntil(time.Now().Add(90 * time.Second))
				healed := time.Now()
				c.net.Uncut(c.hosts("n5"), c.hosts(swimLive4...))
				waitUntil(healed.Add(2 * time.Second))
				whole := true
				for _, o := range swimLive4 {
					whole = whole && c.running[o].srv.Alive("n5") && c.running["n5"].srv.Alive(ring.NodeID(o))
				}
				if whole == mutant {
					t.Errorf("2 s after the cut healed, whole = %v; want %v", whole, !mutant)
				}
				if !mutant {
					c.within(rec, swimLive4, "n5", swim.Alive, healed, 2*time.Second)
				}
			})
		})
	}
}

// TestSwimHintsWaitForDeadOwner: while the detector holds a hint's owner
// dead the fallback keeps the hint (its worker waits rather than dials);
// once the owner is reachable again the hint reaches it within a couple of
// seconds, the detector having seen it back.
func TestSwimHintsWaitForDeadOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3, swimOn(swim.Config{}))
		c.startAll()
		waitUntil(time.Now().Add(time.Second))
		c.net.Cut(c.hosts("n2"), c.hosts("n1", "n3"))
		waitUntil(time.Now().Add(swimDetectBound))
		n1 := c.running["n1"].srv
		if n1.Alive("n2") {
			t.Fatal("n1 does not hold the cut-off n2 dead")
		}
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: object("n9", 1, "v"), HintFor: "n2"}, &wire.Ack{})
		waitUntil(time.Now().Add(10 * time.Second))
		if st := c.status("n1"); st.Hints != 1 || st.HintsDelivered != 0 {
			t.Fatalf("during the cut: %d hints, %d delivered; want 1 kept", st.Hints, st.HintsDelivered)
		}
		healed := time.Now()
		c.net.Uncut(c.hosts("n2"), c.hosts("n1", "n3"))
		for c.status("n1").HintsDelivered == 0 {
			if time.Since(healed) > 2*time.Second {
				t.Fatalf("the hint was not delivered within 2 s of the heal (n1 holds n2 alive: %v)", n1.Alive("n2"))
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("delivered %v after the heal", time.Since(healed))
		if g := c.get("n2", "k"); !g.Found {
			t.Error("the owner does not hold the hinted write")
		}
	})
}
