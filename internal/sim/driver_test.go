package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// healthy starts a 3-node cluster on a perfect network with one client,
// inside the current bubble.
func healthy(t *testing.T, adjust func(*driver.Config)) (*Cluster, *driver.Client) {
	t.Helper()
	return started(t, NewNetwork(rand.New(rand.NewPCG(1, 2)), Link{Latency: 500 * time.Microsecond}),
		rand.New(rand.NewPCG(3, 4)), Options{Nodes: 3}, adjust)
}

// started starts a cluster on nw with one client (driver config adjusted by
// adjust, if not nil), both closed when the test ends, inside the current
// bubble.
func started(t *testing.T, nw *Network, rng *rand.Rand, opts Options, adjust func(*driver.Config)) (*Cluster, *driver.Client) {
	t.Helper()
	c, err := NewCluster(nw, rng, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl, err := c.Client(t.Context(), 0, adjust)
	if err != nil {
		t.Fatal(err)
	}
	return c, cl
}

// keyWithFirstPrimary returns a key whose first primary is node id.
func keyWithFirstPrimary(t *testing.T, r *ring.Ring, id ring.NodeID) []byte {
	for i := range 10000 {
		k := []byte(fmt.Sprintf("k%d", i))
		if p, _ := r.Preference(k, 3); p[0].ID == id {
			return k
		}
	}
	t.Fatalf("no key has %s first", id)
	return nil
}

// TestDeadNodeMarkedDownBySilence measures, in virtual time, how long the
// driver takes to mark down a node that was killed outright while a write
// to it is outstanding: the silence rule (Config.Silence, 250ms), checked by
// a watchdog every 50ms, so between 250ms and 300ms after the request was
// sent; and that the write moved on and succeeded.
func TestDeadNodeMarkedDownBySilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cl := healthy(t, nil)
		dead := c.Nodes[0]
		key := keyWithFirstPrimary(t, cl.Ring(), dead.ID)
		if _, err := cl.Put(t.Context(), key, []byte("v1"), nil); err != nil {
			t.Fatal(err) // warms the connections
		}
		dead.Crash()
		sent := time.Now()
		if _, err := cl.Put(t.Context(), key, []byte("v2"), nil); err != nil {
			t.Fatalf("put with a dead primary: %v", err)
		}
		took := time.Since(sent)
		b := cl.Belief(dead.ID)
		if b.Up {
			t.Fatalf("dead node still believed up after the put (%v)", took)
		}
		down := b.Since.Sub(sent)
		t.Logf("dead node marked down %v after the write was sent (%s); the put took %v", down, b.LastError, took)
		if down < 250*time.Millisecond || down > 300*time.Millisecond {
			t.Fatalf("marked down after %v, want 250ms to 300ms (silence + one watchdog tick)", down)
		}
	})
}

// TestCloseReturnsPromptlyAfterNodeDied: a put answered at W leaves its
// replicate to a dead node in flight; Close waits for it, bounded by the
// watchdog (silence rule), not by the call's 5s deadline or a handshake.
func TestCloseReturnsPromptlyAfterNodeDied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cl := healthy(t, nil)
		dead := c.Nodes[2]
		var key []byte
		for i := 0; key == nil; i++ {
			k := []byte(fmt.Sprintf("k%d", i))
			if p, _ := cl.Ring().Preference(k, 3); p[0].ID != dead.ID && (p[1].ID == dead.ID || p[2].ID == dead.ID) {
				key = k
			}
		}
		if _, err := cl.Put(t.Context(), key, []byte("v1"), nil); err != nil {
			t.Fatal(err)
		}
		dead.Crash()
		if _, err := cl.Put(t.Context(), key, []byte("v2"), nil); err != nil {
			t.Fatalf("put with a dead replica: %v", err)
		}
		start := time.Now()
		if err := cl.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		took := time.Since(start)
		t.Logf("Close took %v with a replicate to a dead node in flight", took)
		if took > 400*time.Millisecond {
			t.Fatalf("Close took %v, want under 400ms (silence 250ms + a tick + a spare's write)", took)
		}
	})
}

// TestPutReadBackOnHealthyCluster is the simulator's smoke test: a value
// written is read back, in virtual time.
func TestPutReadBackOnHealthyCluster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, cl := healthy(t, nil)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := cl.Put(ctx, []byte("k"), []byte("v"), nil); err != nil {
			t.Fatal(err)
		}
		v, err := cl.Get(ctx, []byte("k"))
		if err != nil || len(v.Values) != 1 || string(v.Values[0]) != "v" {
			t.Fatalf("get: %q, %v; want [v]", v.Values, err)
		}
	})
}

// TestProbeBringsRestartedNodeBack: a node marked down is probed every
// ProbeInterval (500ms) on a fresh connection; once it runs again, the next
// probe marks it up, so within 500ms plus a handshake of its restart.
func TestProbeBringsRestartedNodeBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cl := healthy(t, nil)
		n := c.Nodes[0]
		key := keyWithFirstPrimary(t, cl.Ring(), n.ID)
		n.Crash()
		if _, err := cl.Put(t.Context(), key, []byte("v"), nil); err != nil {
			t.Fatalf("put with a dead primary: %v", err)
		}
		if cl.Belief(n.ID).Up {
			t.Fatal("the dead node is still believed up after a put to it")
		}
		time.Sleep(2 * time.Second) // probes fail meanwhile
		if cl.Belief(n.ID).Up {
			t.Fatal("a probe marked a dead node up")
		}
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		for !cl.Belief(n.ID).Up {
			time.Sleep(time.Millisecond)
			if time.Since(restarted) > 5*time.Second {
				t.Fatal("the restarted node is still believed down after 5s")
			}
		}
		took := time.Since(restarted)
		t.Logf("restarted node believed up again %v after its restart", took)
		if took > 520*time.Millisecond {
			t.Fatalf("believed up %v after the restart, want within a probe interval (500ms) and a handshake", took)
		}
	})
}
