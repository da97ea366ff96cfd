package sim

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/hint"
)

// nodeStatus is one node's status through cl, or an error naming it.
func nodeStatus(cl *driver.Client, id ring.NodeID) (driver.NodeStatus, error) {
	for _, st := range cl.Status(context.Background()) {
		if st.Node.ID == id {
			return st, st.Err
		}
	}
	return driver.NodeStatus{}, fmt.Errorf("no node %s in the ring", id)
}

// hintsFor counts the pending hints the running nodes hold for owner.
func hintsFor(cl *driver.Client, owner ring.NodeID) uint64 {
	var n uint64
	for _, st := range cl.Status(context.Background()) {
		for _, o := range st.Info.HintOwners {
			if o.Owner == owner {
				n += o.Keys
			}
		}
	}
	return n
}

// TestHintsWithoutSpareNode is issue 10's scenario in virtual time: a
// 3-node cluster at N=3 (so no fallback exists), n3 stopped, 21 keys
// written, n3 restarted. The coordinator of each write keeps a hint for n3
// (coord.Write, step 6), so n3 holds every key within a few delivery
// passes of its restart, with no reads: its hints are delivered at the
// first pass after the delivering node's backoff (hint.MaxBackoff at most)
// ends. Before the change n3 stayed at 1 object and no hint was pending.
func TestHintsWithoutSpareNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cl := healthy(t, nil)
		ctx := t.Context()
		if _, err := cl.Put(ctx, []byte("first"), []byte("v"), nil); err != nil {
			t.Fatal(err)
		}
		n3 := c.Nodes[2]
		if err := n3.Stop(); err != nil {
			t.Fatal(err)
		}
		const keys = 21
		for i := range keys {
			if _, err := cl.Put(ctx, fmt.Appendf(nil, "k%02d", i), []byte("v"), nil); err != nil {
				t.Fatalf("put %d with n3 down: %v", i, err)
			}
		}
		// An outage long enough for the deliverers' backoff to reach its
		// cap: the worst case for the catch-up below.
		time.Sleep(30 * time.Second)
		if got := hintsFor(cl, n3.ID); got != keys {
			t.Errorf("%d hints pending for n3 while it is down, want %d (one per key written)", got, keys)
		}
		if err := n3.Start(); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		limit := hint.MaxBackoff + 2*storaged.DefaultHintInterval
		for {
			st, err := nodeStatus(cl, n3.ID)
			if err == nil && st.Info.Objects == keys+1 {
				break
			}
			if time.Since(back) > limit {
				t.Fatalf("n3 holds %d objects (%v) %v after its restart, want %d within %v", st.Info.Objects, err, time.Since(back), keys+1, limit)
			}
			time.Sleep(100 * time.Millisecond)
		}
		took := time.Since(back)
		for time.Since(back) < took+2*storaged.DefaultHintInterval && hintsFor(cl, n3.ID) > 0 {
			time.Sleep(100 * time.Millisecond) // the delivered records' deletes settle
		}
		if left := hintsFor(cl, n3.ID); left != 0 {
			t.Fatalf("%d hints for n3 still pending after it holds every key", left)
		}
		t.Logf("n3 held all %d keys %v after its restart (limit %v)", keys+1, took, limit)
	})
}
