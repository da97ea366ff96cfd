package storaged_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// gossipInterval is the GossipInterval of these tests.
const gossipInterval = 100 * time.Millisecond

// gossipNodes configures nodes for the gossip tests: a small ring, no
// anti-entropy or hint delivery to speak of, gossip every gossipInterval
// (off on the nodes off names), each node's random source seeded from its
// id (so every run picks the same peers), and per node the initial cluster
// and seeds of groups and join, if it is listed there.
type gossipNodes struct {
	off    map[string]bool
	groups map[string][]ring.Node
	join   map[string][]string
}

func (g *gossipNodes) tweak(cfg *storaged.Config) {
	cfg.Partitions = 16
	cfg.HintInterval = time.Hour
	cfg.AntiEntropyInterval = -1
	cfg.GossipInterval = gossipInterval
	if g.off[string(cfg.ID)] {
		cfg.GossipInterval = -1
	}
	var seed [32]byte
	copy(seed[:], cfg.ID)
	cfg.Rand = rand.NewChaCha8(seed)
	if m, ok := g.groups[string(cfg.ID)]; ok {
		cfg.InitialCluster = m
	}
	cfg.Join = g.join[string(cfg.ID)]
}

// digests returns the cluster digest of each of ids, in order.
func (c *testCluster) digests(ids ...string) []wire.GossipDigest {
	c.t.Helper()
	var out []wire.GossipDigest
	for _, id := range ids {
		out = append(out, c.status(id).Cluster)
	}
	return out
}

// allEqual reports whether ds holds one value, and not the zero digest.
func allEqual(ds []wire.GossipDigest) bool {
	for _, d := range ds {
		if d != ds[0] || d == (wire.GossipDigest{}) {
			return false
		}
	}
	return true
}

// memberIDs returns the ids of the members s's claim lists.
func memberIDs(s *member.State) []string {
	var out []string
	for _, e := range s.Claim().Members {
		out = append(out, string(e.ID))
	}
	return out
}

// TestGossipConverges: three nodes that each start knowing only their own
// record converge to one state, and after n1's record changes every node
// holds the new state within two intervals (n1's round gives it to one
// peer, and the third node's next round finds it at either of its peers).
// The control, gossip off, leaves the three digests different for ever.
func TestGossipConverges(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("on=%v", on), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &gossipNodes{off: map[string]bool{"n1": !on, "n2": !on, "n3": !on}}
				c := newTestCluster(t, 3, g.tweak)
				ids := []string{"n1", "n2", "n3"}
				for _, id := range ids {
					c.start(id)
				}
				waitUntil(time.Now().Add(5 * gossipInterval))
				if d := c.digests(ids...); allEqual(d) != on {
					t.Fatalf("after 5 intervals, digests %v: equal %v, want %v", d, allEqual(d), on)
				}
				if err := c.running["n1"].srv.TouchRecord(); err != nil {
					t.Fatal(err)
				}
				if d := c.digests(ids...); d[0] == d[1] || d[0] == d[2] {
					t.Fatalf("right after n1's record changed, digests %v", d)
				}
				waitUntil(time.Now().Add(2*gossipInterval + 10*time.Millisecond))
				d := c.digests(ids...)
				if allEqual(d) != on {
					t.Fatalf("2 intervals after n1's record changed, digests %v: equal %v, want %v", d, allEqual(d), on)
				}
				for _, id := range ids {
					st := c.status(id)
					records := map[bool]uint64{true: 3, false: 1}[on]
					if st.ClusterRecords != records || st.ClusterMembers != 3 || st.GossipRefused != 0 || st.GossipFailed != 0 {
						t.Errorf("%s: %d records (want %d), %d members, %d refused, %d failed", id, st.ClusterRecords, records,
							st.ClusterMembers, st.GossipRefused, st.GossipFailed)
					}
					if on && st.GossipRounds < 5 {
						t.Errorf("%s: %d gossip rounds in 7 intervals", id, st.GossipRounds)
					}
				}
			})
		})
	}
}

// TestGossipStateSurvivesRestart: after the three nodes converged, n1
// restarts with gossip off and still holds the others' records, from its
// data directory, and its own under one more incarnation.
func TestGossipStateSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gossipNodes{off: map[string]bool{}}
		c := newTestCluster(t, 3, g.tweak)
		for _, id := range []string{"n1", "n2", "n3"} {
			c.start(id)
		}
		waitUntil(time.Now().Add(5 * gossipInterval))
		before := c.running["n1"].srv.ClusterState()
		if n := len(before.Records()); n != 3 {
			t.Fatalf("n1 knows %d records before the restart, want 3", n)
		}
		c.stopAll()
		g.off["n1"] = true
		after := c.start("n1").ClusterState()
		if !slices.EqualFunc(before.Records()[1:], after.Records()[1:], recordsEqual) {
			t.Errorf("after the restart n1 holds records %+v, want %+v", after.Records(), before.Records())
		}
		old, _ := before.Record("n1")
		rec, _ := after.Record("n1")
		if rec.Incarnation != old.Incarnation+1 || rec.Seq != 0 || rec.Epoch != old.Epoch {
			t.Errorf("n1's record went from %+v to %+v, want one more incarnation", old, rec)
		}
	})
}

func recordsEqual(a, b member.Record) bool {
	return a.ID == b.ID && a.Addr == b.Addr && a.Epoch == b.Epoch && a.Incarnation == b.Incarnation && a.Seq == b.Seq && a.Seen == b.Seen
}

// TestGossipRefusesStateOfAnotherCluster: a data directory holding the
// cluster state of cluster id "other" does not start as a node of the test
// cluster, with an error naming both ids. The control, the same directory
// under its own id, starts.
func TestGossipRefusesStateOfAnotherCluster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gossipNodes{}
		c := newTestCluster(t, 1, g.tweak)
		cfg := func(cluster string) storaged.Config {
			cfg := storaged.Config{
				ID: "n1", DataDir: filepath.Join(c.dir, "n1"), PacketConn: c.net.Listen(c.addr("n1")),
				ClusterID: cluster, InitialCluster: c.members, TLS: c.material(pki.RoleNode, "n1"),
				Logger: testLogger(),
			}
			g.tweak(&cfg)
			return cfg
		}
		for i, cluster := range []string{"other", testClusterID, "other"} {
			srv, err := storaged.New(cfg(cluster))
			switch {
			case i == 1 && !errors.Is(err, storaged.ErrClusterState):
				t.Fatalf("a directory of cluster %q opened under %q: %v", "other", cluster, err)
			case i == 1:
				t.Logf("refused: %v", err)
			case err != nil:
				t.Fatalf("start under %q: %v", cluster, err)
			default:
				if got := srv.ClusterState().Cluster(); got != member.ClusterID(cluster) {
					t.Fatalf("state of cluster %q, want %q", got, cluster)
				}
				if err := srv.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// TestGossipDisjointGroups checks the rule for groups started apart. Group
// A is n1..n3, started with InitialCluster n1..n3; n4 and n5 have
// InitialCluster n4, n5 and n4 has seed n1. Started with an empty data
// directory, n4 takes A's state whole and A learns n4's record: one
// cluster, A's members, no refusal. Started once without seeds (so it mints
// the state of group n4, n5) and then with them, n4's state conflicts with
// A's at ring version 1: n4 refuses A's state at every round and both
// groups keep their own.
func TestGossipDisjointGroups(t *testing.T) {
	for _, minted := range []bool{false, true} {
		t.Run(fmt.Sprintf("minted=%v", minted), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &gossipNodes{groups: map[string][]ring.Node{}, join: map[string][]string{}}
				c := newTestCluster(t, 5, g.tweak)
				for _, id := range []string{"n1", "n2", "n3"} {
					g.groups[id] = c.members[:3]
				}
				g.groups["n4"] = c.members[3:]
				for _, id := range []string{"n1", "n2", "n3"} {
					c.start(id)
				}
				if minted {
					c.start("n4")
					c.stop("n4")
				}
				waitUntil(time.Now().Add(5 * gossipInterval))
				a := c.running["n1"].srv.ClusterState()
				g.join["n4"] = []string{c.addr("n1")}
				n4 := c.start("n4")
				waitUntil(time.Now().Add(10 * gossipInterval))

				st4 := c.status("n4")
				want := []string{"n1", "n2", "n3"}
				if minted {
					want = []string{"n4", "n5"}
				}
				if got := memberIDs(n4.ClusterState()); !slices.Equal(got, want) {
					t.Errorf("n4's state lists members %v, want %v", got, want)
				}
				if got := memberIDs(c.running["n1"].srv.ClusterState()); !slices.Equal(got, memberIDs(a)) {
					t.Errorf("n1's state lists members %v, want %v", got, memberIDs(a))
				}
				d := c.digests("n1", "n2", "n3", "n4")
				if !allEqual(d[:3]) {
					t.Errorf("group A's digests differ: %v", d)
				}
				if (d[3] == d[0]) == minted {
					t.Errorf("n4's digest %v, A's %v: equal %v, want %v", d[3], d[0], d[3] == d[0], !minted)
				}
				_, known := c.running["n1"].srv.ClusterState().Record("n4")
				if known == minted {
					t.Errorf("n1 holds n4's record: %v, want %v", known, !minted)
				}
				if refused := st4.GossipRefused > 0; refused != minted {
					t.Errorf("n4 refused %d states, want refusals: %v", st4.GossipRefused, minted)
				}
				for _, id := range []string{"n1", "n2", "n3"} {
					if st := c.status(id); st.GossipRefused != 0 {
						t.Errorf("%s refused %d states", id, st.GossipRefused)
					}
				}
			})
		})
	}
}
