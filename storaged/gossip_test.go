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

// TestGossipServe: n1 answers a node's digest-only Gossip with its state,
// merges a state pushed to it that extends its own (the control), and
// refuses, counting each, a client certificate, bytes that are no state, a
// state whose claim conflicts with its own at ring version 1 and a state
// of another cluster id, keeping its state through all of them.
func TestGossipServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gossipNodes{off: map[string]bool{"n1": true}}
		c := newTestCluster(t, 2, g.tweak)
		srv := c.start("n1")
		n9 := c.nodeClient("n9", 1)
		mine := srv.ClusterState()

		var resp wire.GossipOK
		if err := callOn(n9, c.addr("n1"), "n1", &wire.Gossip{}, &resp); err != nil {
			t.Fatal(err)
		}
		got, err := member.Decode(resp.State)
		if err != nil || got.Digest() != mine.Digest() {
			t.Fatalf("a pull got %v (%v), want n1's state", got, err)
		}
		if err := c.call("n1", &wire.Gossip{}, &resp); !errors.Is(err, wire.ErrForbidden) {
			t.Errorf("gossip from a client certificate: %v, want ErrForbidden", err)
		}

		r, err := ring.New(16, []ring.Node{{ID: "n8", Addr: "127.0.0.8:7070"}})
		if err != nil {
			t.Fatal(err)
		}
		conflicting, err := member.New(testClusterID, r)
		if err != nil {
			t.Fatal(err)
		}
		other, err := member.New("other", mine.Ring())
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			state []byte
			want  error
		}{
			{"not a state", []byte{0x01}, wire.ErrBadRequest},
			{"a conflicting claim", encodeState(t, conflicting), wire.ErrMismatch},
			{"another cluster", encodeState(t, other), wire.ErrMismatch},
		} {
			if err := callOn(n9, c.addr("n1"), "n1", &wire.Gossip{State: tc.state}, &resp); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if st := c.status("n1"); st.GossipRefused != 2 || srv.ClusterState().Digest() != mine.Digest() {
			t.Errorf("n1 counted %d refusals (want 2), state changed: %v", st.GossipRefused, srv.ClusterState().Digest() != mine.Digest())
		}

		more, err := mine.WithRecord(member.Record{ID: "n9", Addr: "127.0.0.9:7070", Epoch: 1})
		if err != nil {
			t.Fatal(err)
		}
		d := more.Digest()
		push := &wire.Gossip{Digest: wire.GossipDigest{Version: d.Version, Hash: d.Hash}, State: encodeState(t, more)}
		if err := callOn(n9, c.addr("n1"), "n1", push, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Digest != push.Digest || len(resp.State) != 0 {
			t.Errorf("after merging, n1 answered %v and %d bytes of state, want the pushed digest and none", resp.Digest, len(resp.State))
		}
		if _, ok := srv.ClusterState().Record("n9"); !ok {
			t.Error("n1 did not merge the record of n9")
		}
	})
}

func encodeState(t *testing.T, s *member.State) []byte {
	t.Helper()
	b, err := member.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGossipAcrossACut: five nodes converge; n1, cut off from the others,
// changes its record: its rounds fail (counted, each ended by the round
// timeout, never hanging the loop) and the other four keep the state they
// share. Once the cut heals, all five hold n1's new state within a second
// (a round begun during the cut ends within its timeout) and ten intervals.
func TestGossipAcrossACut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gossipNodes{}
		c := newTestCluster(t, 5, g.tweak)
		ids := []string{"n1", "n2", "n3", "n4", "n5"}
		for _, id := range ids {
			c.start(id)
		}
		waitUntil(time.Now().Add(10 * gossipInterval))
		if d := c.digests(ids...); !allEqual(d) {
			t.Fatalf("five nodes did not converge in 10 intervals: %v", d)
		}
		one, rest := []string{"127.0.0.1"}, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
		c.net.Cut(one, rest)
		if err := c.running["n1"].srv.TouchRecord(); err != nil {
			t.Fatal(err)
		}
		failedBefore := c.status("n1").GossipFailed
		waitUntil(time.Now().Add(3 * time.Second))
		d := c.digests(ids...)
		if !allEqual(d[1:]) || d[0] == d[1] {
			t.Fatalf("during the cut, digests %v: want n2..n5 equal, n1 apart", d)
		}
		if failed := c.status("n1").GossipFailed - failedBefore; failed < 2 {
			t.Errorf("n1 failed %d rounds in 3s cut off, want at least 2 (one per round timeout)", failed)
		}
		c.net.Uncut(one, rest)
		waitUntil(time.Now().Add(time.Second + 10*gossipInterval))
		if d := c.digests(ids...); !allEqual(d) {
			t.Fatalf("after the cut healed, digests %v", d)
		}
	})
}
