package storaged_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// outages is how many outages TestClockThroughOutages takes one key through.
const outages = 1000

// TestClockThroughOutages takes one key through 1,000 outages of its owner
// (issue 10, bounded clocks). In each, a fallback (n1) coordinates a write
// for the owner (n2) over the key's latest context, as the driver does
// when no primary is live; the fallback's next delivery pass hands it to
// the owner; then the owner, back, coordinates a write of its own over
// what it holds. The key's clock must stay at two actors, the fallback's
// (for this owner) and the owner's, and every write must land. The
// control (a node that deletes a delivered record, forgetting its
// actor: HintRetainBytes negative) grows the clock by one actor per
// outage until the key's writes are refused.
func TestClockThroughOutages(t *testing.T) {
	for _, forget := range []bool{false, true} {
		t.Run(fmt.Sprintf("forget=%v", forget), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 2, func(cfg *storaged.Config) {
					if forget {
						cfg.HintRetainBytes = -1
					}
				})
				c.start("n1")
				c.start("n2")
				var ctx dvv.VV
				widest := 0
				for i := range outages {
					v := fmt.Sprintf("stand-in %d", i)
					var obj wire.Object
					err := c.call("n1", &wire.Coordinate{Key: []byte("k"), Value: []byte(v), Context: ctx, HintFor: "n2"}, &obj)
					if forget && errors.Is(err, wire.ErrTooLarge) {
						t.Logf("control: outage %d's write refused with a %d-actor clock: %v", i, widest, err)
						return
					}
					if err != nil {
						t.Fatalf("outage %d: the stand-in's write: %v", i, err)
					}
					// Delivery is not what this test times: a pass that fails
					// (a connection being replaced) is retried after a backoff.
					var held dvv.Set
					for deadline := time.Now().Add(testTimeout); ; {
						waitUntil(c.nextPass("n1", time.Now()))
						held = c.get("n2", "k").Object
						if got := values(held); len(got) == 1 && got[0] == v {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("outage %d: the owner holds %q, want [%s] delivered", i, values(held), v)
						}
					}
					own := c.coordinate("n2", "", "k", fmt.Sprintf("owner %d", i), held.VV)
					ctx = own.VV
					widest = max(widest, len(own.VV))
					if !forget && len(own.VV) > 2 {
						t.Fatalf("outage %d: the key's clock has %d actors, want at most 2: %v", i, len(own.VV), own.VV)
					}
				}
				if forget {
					t.Fatalf("control: %d outages and the clock reached only %d actors; the mutant did not forget", outages, widest)
				}
				if st := c.status("n1"); st.Hints != 0 || st.HintsRetained != 1 || st.HintsRetainedBytes == 0 {
					t.Errorf("n1 reports %d hints, %d retained (%d bytes) after the last delivery, want 0 and 1", st.Hints, st.HintsRetained, st.HintsRetainedBytes)
				}
				t.Logf("%d outages: the clock stayed at %d actors", outages, widest)
			})
		})
	}
}
