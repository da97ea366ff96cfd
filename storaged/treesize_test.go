package storaged_test

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire/dvv"
)

// TestTreesSizedByPartition: a partition's tree grows with its objects. A
// node written 12,000 keys over 8 partitions (about 1,500 each) keeps the
// smallest trees while it writes, a verify resizes them (merkle.LeavesFor:
// 512 leaves) without counting a mismatch, finding the one bogus delta
// put in a small tree before it; a restart builds them at that size; a
// bogus delta in a resized tree is found too. A replica
// with small trees converges with it by anti-entropy (the exchange folds
// the larger tree).
func TestTreesSizedByPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keys = 12_000
		c := newTestCluster(t, 2, func(cfg *storaged.Config) {
			antiEntropy("n2")(cfg)
			cfg.Partitions = 8
			cfg.NoSync = true // 12,000 fsyncs would only slow the test
		})
		c.start("n1")
		want := make(map[string]dvv.Set, keys)
		for i := range keys {
			k := fmt.Sprintf("size-%05d", i)
			want[k] = c.coordinate("n1", "", k, "v", nil)
		}
		srv := c.running["n1"].srv
		sizes := func() []int {
			var out []int
			for p := range 8 {
				out = append(out, srv.TreeSize(p))
			}
			return out
		}
		if got := sizes(); slices.ContainsFunc(got, func(n int) bool { return n != merkle.MinLeaves }) {
			t.Fatalf("trees made by writes have sizes %v, want %d each until a verify", got, merkle.MinLeaves)
		}
		// A bogus delta in one small tree: the resize must still find it
		// (the trees are compared folded to the smaller size).
		bogus := srv.PartitionOf([]byte("size-00002"))
		srv.ApplyTreeDelta([]byte("size-00002"), 1)
		differ, busy, err := srv.VerifyTrees()
		if err != nil || len(differ) != 1 || differ[0] != bogus || busy != 0 {
			t.Fatalf("verify: differ %v busy %d err %v; want partition %d alone found differing, the rest resized", differ, busy, err, bogus)
		}
		grown := merkle.LeavesFor(keys / 8)
		if grown <= merkle.MinLeaves {
			t.Fatalf("a broken test: %d keys per partition do not grow a tree", keys/8)
		}
		for p, n := range sizes() {
			if n != grown && n != 2*grown && n != grown/2 {
				t.Fatalf("after verify partition %d has %d leaves, want about %d", p, n, grown)
			}
		}
		if st := c.status("n1"); st.TreeMismatches != 1 {
			t.Fatalf("status counts %d mismatches after a resize and one bogus delta, want 1", st.TreeMismatches)
		}
		c.checkTrees("n1")
		before := sizes()
		c.stop("n1")
		c.start("n1")
		srv = c.running["n1"].srv
		if got := sizes(); !slices.Equal(got, before) {
			t.Fatalf("restart built sizes %v, verify had %v", got, before)
		}
		srv.ApplyTreeDelta([]byte("size-00001"), 1)
		if differ, _, _ := srv.VerifyTrees(); len(differ) != 1 || differ[0] != srv.PartitionOf([]byte("size-00001")) {
			t.Fatalf("a bogus delta in a resized tree: verify found %v", differ)
		}

		c.start("n2")
		deadline := time.Now().Add(20 * aeInterval)
		for {
			waitUntil(time.Now().Add(aeInterval))
			miss := c.missing("n2", want)
			if len(miss) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("n2 still misses %d keys after %v", len(miss), 20*aeInterval)
			}
		}
	})
}
