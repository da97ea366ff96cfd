package storaged_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/wire"
)

// TestCoordinatorKeepsHintForOtherPrimary: with no fallback in the ring (3
// nodes at N=3, n3 down), the driver has the coordinator keep the write as
// a hint for n3 as well (driver/coord Write, step 6): a hinted Replicate to
// the node that coordinated it and holds the key as a primary itself. n1
// stores both, the hint under its own record, and delivers it at its first
// delivery pass once n3 runs. The control (no hinted copy) leaves n3
// without the key however many passes go by.
func TestCoordinatorKeepsHintForOtherPrimary(t *testing.T) {
	for _, hinted := range []bool{true, false} {
		t.Run(fmt.Sprintf("hinted=%v", hinted), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 3, nil)
				c.start("n1")
				c.start("n2")
				obj := c.coordinate("n1", "", "k", "v", nil)
				c.must("n2", &wire.Replicate{Key: []byte("k"), Object: obj}, &wire.Ack{})
				if hinted {
					c.must("n1", &wire.Replicate{Key: []byte("k"), Object: obj, HintFor: "n3"}, &wire.Ack{})
				}
				st := c.status("n1")
				if want := map[bool]uint64{true: 1, false: 0}[hinted]; st.Objects != 1 || st.Hints != want {
					t.Fatalf("n1 holds %d objects and %d hints, want 1 and %d", st.Objects, st.Hints, want)
				}
				c.start("n3")
				held := func() bool {
					g := c.get("n3", "k")
					return g.Found && g.Object.Equal(obj)
				}
				what := func() string { return fmt.Sprintf("n3 has %+v; n1 status %+v", c.get("n3", "k"), c.status("n1")) }
				if !hinted {
					waitUntil(time.Now().Add(20 * hintInterval))
					if held() {
						t.Fatalf("n3 holds k with no hint kept for it: %s", what())
					}
					return
				}
				c.holdsFrom(c.nextPass("n1", time.Now()), what, held)
				waitUntil(time.Now().Add(hintInterval))
				if st := c.status("n1"); st.Hints != 0 || st.HintsDelivered != 1 || st.Objects != 1 {
					t.Fatalf("n1 after delivery: %d hints, %d delivered, %d objects; want 0, 1, 1", st.Hints, st.HintsDelivered, st.Objects)
				}
			})
		})
	}
}
