package storaged_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// aeFullEvery is storaged's: every 10th cycle compares every pair.
const aeFullEvery = 10

// pairsPerCycle is what a cycle of a 3-node cluster compares when it skips
// nothing: every partition with both other replicas, on every node.
const pairsPerCycle = aePartitions * 3 * 2

// writeAll writes n keys through n1 and replicates them to n2 and n3.
func (c *testCluster) writeAll(n int) map[string]dvv.Set {
	c.t.Helper()
	want := make(map[string]dvv.Set)
	for i := range n {
		k := fmt.Sprintf("key-%02d", i)
		want[k] = c.coordinate("n1", "", k, "v", nil)
		for _, id := range []string{"n2", "n3"} {
			c.must(id, &wire.Replicate{Key: []byte(k), Object: want[k]}, &wire.Ack{})
		}
	}
	return want
}

// exchanges is the cluster's count of exchanges run so far, all nodes.
func (c *testCluster) exchanges() uint64 {
	c.t.Helper()
	var n uint64
	for _, id := range []string{"n1", "n2", "n3"} {
		n += c.status(id).AEPartitions
	}
	return n
}

// afterCycle returns the instant when the k-th cycle (from 1) of nodes
// started at start has run its last exchange and the next has not begun:
// cycle k runs over [start+k·aeInterval, start+(k+1)·aeInterval), its
// partitions paced aeInterval/aePartitions apart.
func afterCycle(start time.Time, k int) time.Time {
	return start.Add(time.Duration(k+1)*aeInterval - aeInterval/(2*aePartitions))
}

// TestAntiEntropySkipsWhatCannotDiffer: three nodes that started together
// hold the same 20 keys. In the first cycle each pair is compared once, by
// whichever of its two nodes reaches it first (the other skips it: the peer
// compared it); in the second, each pair by the node that skipped it (the
// other's tree is unchanged since its own exchange found the pair equal);
// from then on nothing, until the 10th cycle, which compares every pair
// (the control: a cycle that skips nothing compares all 96). A write to n1
// alone changes n1's tree, so n1 compares that partition within its next
// two cycles (its first may be skipped for a comparison the peer made since
// n1's turn in the 10th), and both other replicas hold the key when they
// end, after a few exchanges, not a cycle's worth.
func TestAntiEntropySkipsWhatCannotDiffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3, antiEntropy())
		start := time.Now()
		for _, id := range []string{"n1", "n2", "n3"} {
			c.start(id)
		}
		want := c.writeAll(20)
		var counts []uint64 // after each cycle
		for k := 1; k <= aeFullEvery; k++ {
			waitUntil(afterCycle(start, k))
			counts = append(counts, c.exchanges())
		}
		per := make([]uint64, len(counts))
		for k := range counts {
			per[k] = counts[k]
			if k > 0 {
				per[k] -= counts[k-1]
			}
		}
		wantPer := []uint64{pairsPerCycle / 2, pairsPerCycle / 2, 0, 0, 0, 0, 0, 0, 0, pairsPerCycle}
		if fmt.Sprint(per) != fmt.Sprint(wantPer) {
			t.Fatalf("exchanges per cycle %v, want %v", per, wantPer)
		}
		for _, id := range []string{"n1", "n2", "n3"} {
			if miss := c.missing(id, want); len(miss) != 0 {
				t.Fatalf("%s misses %v", id, miss)
			}
		}

		// A write n1 alone takes: n1 compares its partition within two cycles.
		obj := c.coordinate("n1", "", "lonely", "v", nil)
		before := c.exchanges()
		waitUntil(afterCycle(start, aeFullEvery+2))
		for _, id := range []string{"n2", "n3"} {
			if g := c.get(id, "lonely"); !g.Found || !g.Object.Equal(obj) {
				t.Fatalf("%s lacks the key n1 alone took, two cycles later: %+v", id, g)
			}
		}
		if n := c.exchanges() - before; n < 2 || n >= pairsPerCycle/2 {
			t.Fatalf("%d exchanges in the two cycles after the write; want n1's two of its partition, and few more", n)
		}
	})
}

// TestAntiEntropyComparesARestartedNode: three nodes hold the same 20 keys
// and have reached the cycles that compare nothing; then n3 loses its data
// directory and restarts empty. Its peers' trees have not changed, so they
// keep skipping its pairs, but n3 has no facts of its own: its first cycle
// compares every pair, and it holds every key when that cycle ends. The
// control, n3 restarted with anti-entropy off, still holds nothing after as
// long: nothing but n3's own cycle would have repaired it yet.
func TestAntiEntropyComparesARestartedNode(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("n3-anti-entropy=%v", on), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				restarted := false
				c := newTestCluster(t, 3, func(cfg *storaged.Config) {
					antiEntropy()(cfg)
					if restarted && !on {
						cfg.AntiEntropyInterval = -1
					}
				})
				start := time.Now()
				for _, id := range []string{"n1", "n2", "n3"} {
					c.start(id)
				}
				want := c.writeAll(20)
				waitUntil(afterCycle(start, 3))
				c.stop("n3")
				if err := os.RemoveAll(filepath.Join(c.dir, "n3")); err != nil {
					t.Fatal(err)
				}
				restarted = true
				back := time.Now()
				c.start("n3")
				waitUntil(afterCycle(back, 1))
				if back.Add(2 * aeInterval).After(afterCycle(start, aeFullEvery-1)) {
					t.Fatal("test set-up: the peers' full cycle comes before the check")
				}
				miss := c.missing("n3", want)
				if !on {
					if len(miss) != len(want) {
						t.Fatalf("control: n3 with anti-entropy off holds %d of %d keys after its peers' cycles", len(want)-len(miss), len(want))
					}
					return
				}
				if len(miss) != 0 {
					t.Fatalf("restarted n3 misses %v after its first cycle", miss)
				}
			})
		})
	}
}
