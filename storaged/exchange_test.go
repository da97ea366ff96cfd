package storaged_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// aeInterval is the AntiEntropyInterval of these tests; aePartitions keeps
// a cycle short.
const (
	aeInterval   = time.Second
	aePartitions = 16
)

// antiEntropy configures nodes for the exchange tests: a small ring, hint
// delivery all but off (so only anti-entropy can repair), and anti-entropy
// every aeInterval on the nodes of on (every node if on is empty), off on
// the others.
func antiEntropy(on ...string) func(*storaged.Config) {
	return func(cfg *storaged.Config) {
		cfg.Partitions = aePartitions
		cfg.HintInterval = time.Hour
		cfg.AntiEntropyInterval = -1
		if len(on) == 0 || slices.Contains(on, string(cfg.ID)) {
			cfg.AntiEntropyInterval = aeInterval
		}
	}
}

// missing returns the keys member id does not hold exactly as want.
func (c *testCluster) missing(id string, want map[string]dvv.Set) []string {
	c.t.Helper()
	var out []string
	for k, obj := range want {
		if g := c.get(id, k); !g.Found || !g.Object.Equal(obj) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestAntiEntropyBringsBackAStaleReplica: n3 is down while 20 keys are
// written to n1 and n2 only (hint delivery off); once n3 runs, its own
// exchanges bring it every key within a few intervals, with no reads
// through a driver. The control, anti-entropy off, leaves n3 empty.
func TestAntiEntropyBringsBackAStaleReplica(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("on=%v", on), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tweak := antiEntropy()
				if !on {
					tweak = antiEntropy("none")
				}
				c := newTestCluster(t, 3, tweak)
				c.start("n1")
				c.start("n2")
				want := make(map[string]dvv.Set)
				for i := range 20 {
					k := fmt.Sprintf("key-%02d", i)
					want[k] = c.coordinate("n1", "", k, "v", nil)
					c.must("n2", &wire.Replicate{Key: []byte(k), Object: want[k]}, &wire.Ack{})
				}
				waitUntil(time.Now().Add(2 * aeInterval)) // n1 and n2 exchange meanwhile, n3 skipped
				c.start("n3")
				waitUntil(time.Now().Add(3 * aeInterval))
				miss := c.missing("n3", want)
				if !on {
					if len(miss) != len(want) {
						t.Fatalf("with anti-entropy off n3 holds %d of %d keys", len(want)-len(miss), len(want))
					}
					if st := c.status("n3"); st.AEPartitions != 0 {
						t.Fatalf("with anti-entropy off n3 counts %d exchanges", st.AEPartitions)
					}
					return
				}
				if len(miss) != 0 {
					t.Fatalf("n3 misses %d of %d keys after %v: %v; status %+v", len(miss), len(want), 3*aeInterval, miss, c.status("n3"))
				}
				// Repairs came from n3's own fetches or n1's and n2's pushes
				// (whichever cycle reached a partition first).
				var repaired uint64
				for _, id := range []string{"n1", "n2", "n3"} {
					repaired += c.status(id).AEKeysRepaired
				}
				if st := c.status("n3"); repaired < uint64(len(want)) || st.AEPartitions == 0 || st.Objects != uint64(len(want)) {
					t.Fatalf("%d keys repaired in all; n3 status: %d exchanges, %d objects; want ≥ %d, some, %d",
						repaired, st.AEPartitions, st.Objects, len(want), len(want))
				}
				for _, id := range []string{"n1", "n2", "n3"} {
					c.checkTrees(id)
				}
			})
		})
	}
}

// TestAntiEntropyRepairsBothWays: only n1 runs anti-entropy; n3 holds a key
// n1 lacks and a newer write of a key n1 holds, n1 a key n3 lacks, and both
// hold concurrent writes of one key. After a cycle both hold the same
// objects: fetched, pushed, and the concurrent values as siblings (a merge,
// never an overwrite). The control, before the first cycle, finds them
// still different.
func TestAntiEntropyRepairsBothWays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3, antiEntropy("n1"))
		c.start("n1")
		c.start("n3")
		base := c.coordinate("n1", "", "newer-on-n3", "old", nil)
		c.must("n3", &wire.Replicate{Key: []byte("newer-on-n3"), Object: base}, &wire.Ack{})
		newer := c.coordinate("n3", "", "newer-on-n3", "new", base.VV)
		onlyN3 := c.coordinate("n3", "", "only-on-n3", "x", nil)
		onlyN1 := c.coordinate("n1", "", "only-on-n1", "y", nil)
		s1 := c.coordinate("n1", "", "concurrent", "from-n1", nil)
		s3 := c.coordinate("n3", "", "concurrent", "from-n3", nil)
		want := map[string]dvv.Set{
			"newer-on-n3": newer, "only-on-n3": onlyN3, "only-on-n1": onlyN1,
			"concurrent": dvv.Merge(s1, s3),
		}
		if miss := c.missing("n1", want); len(miss) != 3 {
			t.Fatalf("control: before any exchange n1 differs in %v, want 3 keys", miss)
		}
		// n2 is down: the cycle waits out one handshake to it.
		waitUntil(c.started["n1"].Add(aeInterval + handshakeTimeout + aeInterval/2))
		for _, id := range []string{"n1", "n3"} {
			if miss := c.missing(id, want); len(miss) != 0 {
				t.Fatalf("%s differs in %v after a cycle; n1 status %+v", id, miss, c.status("n1"))
			}
		}
		if got := values(c.get("n3", "concurrent").Object); !slices.Equal(got, []string{"from-n1", "from-n3"}) &&
			!slices.Equal(got, []string{"from-n3", "from-n1"}) {
			t.Fatalf("concurrent writes merged to %q, want both as siblings", got)
		}
		if st := c.status("n1"); st.AEKeysRepaired != 4 {
			t.Fatalf("n1 counts %d keys repaired, want 4", st.AEKeysRepaired)
		}
		c.checkTrees("n1")
		c.checkTrees("n3")
	})
}

// TestAntiEntropyPeerDownIsSkipped: with n2 down, n1's cycle fails against
// n2 once, skips n2's other partitions, counts them all as failed, and
// still completes its exchanges with n3.
func TestAntiEntropyPeerDownIsSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3, antiEntropy("n1"))
		c.start("n1")
		c.start("n3")
		waitUntil(c.started["n1"].Add(aeInterval + handshakeTimeout + aeInterval/2))
		st := c.status("n1")
		if st.AEPartitions != aePartitions || st.AEFailed != aePartitions || st.AELastCycleMS == 0 {
			t.Fatalf("n1 after a cycle with n2 down: %d exchanges, %d failed, last cycle %dms; want %d, %d, > 0",
				st.AEPartitions, st.AEFailed, st.AELastCycleMS, aePartitions, aePartitions)
		}
	})
}

// replicatedByN1 returns the ring of the cluster's members at aePartitions,
// the last partition n1 replicates in it and the first it does not; the
// cluster must have more members than storaged.DefaultN.
func (c *testCluster) replicatedByN1() (r *ring.Ring, mine, other int) {
	c.t.Helper()
	r, err := ring.New(aePartitions, c.members)
	if err != nil {
		c.t.Fatal(err)
	}
	mine, other = -1, -1
	for p := range r.Partitions() {
		primaries, _ := r.PreferenceOf(p, storaged.DefaultN)
		if slices.ContainsFunc(primaries, func(n ring.Node) bool { return n.ID == "n1" }) {
			mine = max(mine, p)
		} else if other < 0 {
			other = p
		}
	}
	if mine < 0 || other < 0 {
		c.t.Fatalf("%d nodes at n=%d: n1 replicates partition %d, not %d; want one of each", len(c.members), storaged.DefaultN, mine, other)
	}
	return r, mine, other
}

// TestExchangeRefusals: the serve side refuses a node certificate of a
// non-member, a partition this node does not replicate, one out of range,
// and a different ring version; a member asking for a partition the node
// replicates, at its ring version, gets the top (the control).
func TestExchangeRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 4, antiEntropy("none"))
		c.start("n1")
		r, mine, other := c.replicatedByN1()
		empty, _ := merkle.New(merkle.MinLeaves)
		top := func(p int, version uint64) *wire.ExchangeTop {
			return &wire.ExchangeTop{Partition: uint32(p), RingVersion: version, Leaves: uint32(empty.Size()), Root: empty.Root()}
		}
		member, stranger := c.nodeClient("n2", 1), c.nodeClient("n9", 2)
		for _, tc := range []struct {
			name string
			from *wire.Endpoint
			req  any
			is   error
			says string
		}{
			{"non-member", stranger, top(mine, r.Version()), wire.ErrForbidden, "not a member"},
			{"not replicated", member, top(other, r.Version()), wire.ErrMismatch, fmt.Sprintf("does not replicate partition %d", other)},
			{"out of range", member, top(aePartitions, r.Version()), wire.ErrBadRequest, "the ring has 16 partitions"},
			{"ring version", member, top(mine, r.Version()+1), wire.ErrMismatch, "ring version"},
			{"leaves, not replicated", member, &wire.ExchangeLeaves{Partition: uint32(other), Leaves: uint32(empty.Size()), Branches: wire.ExchangeIDs{0}}, wire.ErrMismatch, "does not replicate"},
			{"keys, non-member", stranger, &wire.ExchangeKeys{Partition: uint32(mine), Leaves: uint32(empty.Size()), LeafIDs: wire.ExchangeIDs{0}}, wire.ErrForbidden, "not a member"},
		} {
			var resp any = &wire.ExchangeTopOK{}
			switch tc.req.(type) {
			case *wire.ExchangeLeaves:
				resp = &wire.ExchangeLeavesOK{}
			case *wire.ExchangeKeys:
				resp = &wire.ExchangeKeysOK{}
			}
			err := callOn(tc.from, c.addr("n1"), "n1", tc.req, resp)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: %v, want %v saying %q", tc.name, err, tc.is, tc.says)
			}
		}
		var ok wire.ExchangeTopOK
		if err := callOn(member, c.addr("n1"), "n1", top(mine, r.Version()), &ok); err != nil || ok.Root != empty.Root() {
			t.Fatalf("control: member asks for replicated partition %d: %+v, %v", mine, ok, err)
		}
		var keys wire.ExchangeKeysOK
		if err := callOn(member, c.addr("n1"), "n1", &wire.ExchangeKeys{Partition: uint32(mine), Leaves: uint32(empty.Size()), LeafIDs: wire.ExchangeIDs{0}}, &keys); err != nil {
			t.Fatalf("control: member asks for keys of partition %d: %v", mine, err)
		}
	})
}

// TestAntiEntropyIsThrottled: n3, empty, fetches 20 objects of 4 KiB (80
// KiB, more than the bucket's one-second burst) at AntiEntropyRate 16
// KiB/s: two seconds into its first cycle it cannot hold them all, and it
// does later. The control, at the default rate, holds them all as its first
// cycle ends, one interval after it began (a cycle is paced over the
// interval; its exchanges take no virtual time).
func TestAntiEntropyIsThrottled(t *testing.T) {
	for _, rate := range []int64{16 << 10, 0} {
		t.Run(fmt.Sprintf("rate=%d", rate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 3, func(cfg *storaged.Config) {
					antiEntropy("n3")(cfg)
					cfg.AntiEntropyRate = rate
				})
				c.start("n1")
				c.start("n2")
				c.start("n3")
				want := make(map[string]dvv.Set)
				for i := range 20 {
					k := fmt.Sprintf("key-%02d", i)
					want[k] = c.coordinate("n1", "", k, strings.Repeat("v", 4<<10), nil)
					c.must("n2", &wire.Replicate{Key: []byte(k), Object: want[k]}, &wire.Ack{})
				}
				first := c.started["n3"].Add(aeInterval)
				if rate == 0 {
					waitUntil(first.Add(aeInterval))
					if miss := c.missing("n3", want); len(miss) != 0 {
						t.Fatalf("at the default rate n3 misses %v after its first cycle", miss)
					}
					return
				}
				waitUntil(first.Add(2 * time.Second))
				if miss := c.missing("n3", want); len(miss) == 0 {
					t.Fatalf("at %d B/s n3 fetched all %d KiB within 2s", rate, 20*4)
				}
				waitUntil(first.Add(30 * time.Second))
				if miss := c.missing("n3", want); len(miss) != 0 {
					t.Fatalf("at %d B/s n3 still misses %v after 30s", rate, miss)
				}
			})
		})
	}
}

// TestConfigValidateAntiEntropy: a negative replication factor or rate is
// refused, both at once; a negative interval (off) and the zero values (the
// defaults) are not.
func TestConfigValidateAntiEntropy(t *testing.T) {
	err := storaged.Config{N: -1, AntiEntropyRate: -1, AntiEntropyInterval: -1}.Validate()
	for _, want := range []string{"replication factor n is negative", "anti-entropy rate is negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to say %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "anti-entropy interval") {
		t.Errorf("Validate refuses a negative interval (off): %v", err)
	}
	if err := (storaged.Config{}).Validate(); err != nil && strings.Contains(err.Error(), "anti-entropy") {
		t.Errorf("Validate refuses the zero anti-entropy settings: %v", err)
	}
}
