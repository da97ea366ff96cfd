package sim

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
)

// convergeAEInterval is the anti-entropy interval of the convergence test:
// short, so that a few cycles fit in seconds of virtual time.
const convergeAEInterval = 2 * time.Second

// ackedPut is a write the driver acknowledged: its key and value.
type ackedPut struct{ key, value []byte }

// missingCopy is an acknowledged write a primary does not hold.
type missingCopy struct {
	key  string
	node string
	held [][]byte
	err  error
}

func (m missingCopy) String() string {
	if m.err != nil {
		return fmt.Sprintf("key %s on %s: %v", m.key, m.node, m.err)
	}
	return fmt.Sprintf("key %s on %s: holds %q", m.key, m.node, m.held)
}

// inspector asks nodes directly for their own copy of keys (no quorum, no
// merge), over one endpoint kept open for all its questions.
type inspector struct {
	c  *Cluster
	ep *wire.Endpoint
}

func newInspector(t *testing.T, c *Cluster) *inspector {
	t.Helper()
	mat, err := c.auth.client("converge-inspector")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := wire.NewEndpoint(wire.EndpointConfig{PacketConn: c.Net.Listen(ClientAddr(8)), TLS: mat, ClusterID: "shoal", Logger: c.opts.Logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return &inspector{c: c, ep: ep}
}

// missing lists, in the order of puts and then of each key's preference
// list, every primary of an acknowledged put that does not hold its value.
func (in *inspector) missing(t *testing.T, cl *driver.Client, puts []ackedPut) []missingCopy {
	t.Helper()
	var out []missingCopy
	for _, p := range puts {
		prefs, _ := cl.Ring().Preference(p.key, 3)
		for _, pr := range prefs {
			i := slices.IndexFunc(in.c.Nodes, func(n *Node) bool { return n.ID == pr.ID })
			var resp wire.GetOK
			err := in.ep.Call(t.Context(), in.c.Nodes[i].Addr, string(pr.ID), &wire.Get{Key: p.key}, &resp)
			var held [][]byte
			if err == nil && resp.Found {
				held = resp.Object.Values()
			}
			if err != nil || !slices.ContainsFunc(held, func(v []byte) bool { return bytes.Equal(v, p.value) }) {
				out = append(out, missingCopy{key: string(p.key), node: string(pr.ID), held: held, err: err})
			}
		}
	}
	return out
}

// faultyWrites runs the convergence scenario's write phase on a 5-node
// cluster at N=3: distinct keys put (never read) while, phase by phase, the
// network drops packets, a node is stopped, a link between two nodes is
// cut, and another node crashes (losing what it had not synced). Then it
// heals everything: every node runs, no cut, no loss. It returns the puts
// the driver acknowledged and how many it tried.
func faultyWrites(t *testing.T, seed uint64, adjust func(*storaged.Config)) (*Cluster, *driver.Client, []ackedPut, int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0xae))
	nw := NewNetwork(rand.New(rand.NewPCG(seed, 1)), Link{Latency: 500 * time.Microsecond, Jitter: 200 * time.Microsecond})
	c, cl := started(t, nw, rand.New(rand.NewPCG(seed, 2)), Options{Nodes: 5, Storaged: adjust}, nil)
	order := rng.Perm(len(c.Nodes))
	stopped, crashed, cutA, cutB := c.Nodes[order[0]], c.Nodes[order[1]], c.Nodes[order[2]], c.Nodes[order[3]]
	hostOf := func(n *Node) []string { h, _, _ := net.SplitHostPort(n.Addr); return []string{h} }

	const perPhase = 12
	var acked []ackedPut
	tried := 0
	phase := func(name string) {
		for range perPhase {
			key := fmt.Appendf(nil, "s%d-k%03d", seed, tried)
			value := fmt.Appendf(nil, "v-%s", key)
			tried++
			if _, err := cl.Put(t.Context(), key, value, nil); err == nil {
				acked = append(acked, ackedPut{key, value})
			} else {
				t.Logf("seed %d, %s: put %s not acknowledged: %v", seed, name, key, err)
			}
		}
	}
	nw.SetLink(Link{Latency: 500 * time.Microsecond, Jitter: 200 * time.Microsecond, Drop: 0.03})
	phase("loss")
	if err := stopped.Stop(); err != nil {
		t.Fatal(err)
	}
	phase("loss, " + string(stopped.ID) + " stopped")
	nw.Cut(hostOf(cutA), hostOf(cutB))
	phase(fmt.Sprintf("loss, %s stopped, %s-%s cut", stopped.ID, cutA.ID, cutB.ID))
	if err := crashed.Crash(); err != nil {
		t.Fatal(err)
	}
	phase(fmt.Sprintf("loss, %s stopped, %s-%s cut, %s crashed", stopped.ID, cutA.ID, cutB.ID, crashed.ID))

	// Heal.
	nw.SetLink(Link{Latency: 500 * time.Microsecond, Jitter: 200 * time.Microsecond})
	nw.Uncut(hostOf(cutA), hostOf(cutB))
	for _, n := range []*Node{stopped, crashed} {
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return c, cl, acked, tried
}

// TestReplicasConvergeWithNoReads is issue 10's acceptance in the
// simulator: over several seeds (4; SHOAL_SIM_SEEDS=n runs n from
// SHOAL_SIM_FIRST), writes of distinct keys with packet loss, a stopped
// node, a cut link and a crash, and no reads; after the heal, within a few
// anti-entropy intervals, every one of the N=3 primaries of every
// acknowledged key holds it, asked directly; with hint delivery on, and
// with hints held back (HintInterval 1h) so that anti-entropy alone must
// bring the primaries up to date. The negative control turns
// anti-entropy off and holds hints back (HintInterval 1h): then some
// primary misses some key, so the checker catches a replica left behind.
func TestReplicasConvergeWithNoReads(t *testing.T) {
	n, first := envInt(t, "SHOAL_SIM_SEEDS", 4), envInt(t, "SHOAL_SIM_FIRST", 1)
	const limit = 10 * convergeAEInterval
	for _, mode := range []struct {
		name   string
		adjust func(*storaged.Config)
	}{
		{"anti-entropy and hints", func(cfg *storaged.Config) { cfg.AntiEntropyInterval = convergeAEInterval }},
		{"anti-entropy alone (hints held back)", func(cfg *storaged.Config) {
			cfg.AntiEntropyInterval = convergeAEInterval
			cfg.HintInterval = time.Hour
		}},
	} {
		for seed := first; seed < first+n; seed++ {
			synctest.Test(t, func(t *testing.T) {
				c, cl, acked, tried := faultyWrites(t, seed, mode.adjust)
				if len(acked) == 0 {
					t.Fatalf("%s, seed %d: none of %d puts acknowledged", mode.name, seed, tried)
				}
				in := newInspector(t, c)
				healed := time.Now()
				var left []missingCopy
				for {
					time.Sleep(convergeAEInterval / 2)
					left = in.missing(t, cl, acked)
					if len(left) == 0 || time.Since(healed) >= limit {
						break
					}
				}
				if len(left) > 0 {
					for _, m := range left {
						t.Errorf("%s, seed %d: %v %v after the heal", mode.name, seed, m, limit)
					}
					t.Fatalf("%s, seed %d: %d primary copies of %d acknowledged puts missing after %v (anti-entropy every %v)", mode.name, seed, len(left), len(acked), limit, convergeAEInterval)
				}
				t.Logf("%s, seed %d: %d of %d puts acknowledged; all 3 primaries of each held it %v after the heal", mode.name, seed, len(acked), tried, time.Since(healed))
			})
		}
	}

	synctest.Test(t, func(t *testing.T) {
		off := func(cfg *storaged.Config) {
			cfg.AntiEntropyInterval = -1
			cfg.HintInterval = time.Hour
		}
		c, cl, acked, _ := faultyWrites(t, first, off)
		in := newInspector(t, c)
		time.Sleep(limit)
		left := in.missing(t, cl, acked)
		if len(left) == 0 {
			t.Fatalf("control (seed %d): with anti-entropy off and hints held back, every primary of all %d acknowledged puts holds it after %v: the checker is not shown to catch a missing replica", first, len(acked), limit)
		}
		t.Logf("control (seed %d): %d primary copies missing, e.g. %v", first, len(left), left[0])
	})
}
