package storaged_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire/dvv"
)

// TestRetainedHintRecords: delivered records in which a fallback
// coordinated writes are retained (not hints: Hints stays 0), up to
// HintRetainBytes, past which the oldest are deleted down to 3/4 of it;
// the count survives a restart; reads leave them out (the owner serves
// what was delivered); and a write for the owner revives one, pending
// again, under the actor it kept.
func TestRetainedHintRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 2 << 10
		c := newTestCluster(t, 2, func(cfg *storaged.Config) { cfg.HintRetainBytes = limit })
		c.start("n1")
		c.start("n2")
		objs := make(map[string]dvv.Set)
		for i := range 20 {
			k := fmt.Sprintf("ret-%02d", i)
			objs[k] = c.coordinate("n1", "n2", k, strings.Repeat("v", 200), nil)
		}
		waitUntil(c.nextPass("n1", c.started["n1"]).Add(deliverySlack))
		st := c.status("n1")
		if st.Hints != 0 || st.HintsRetained == 0 || st.HintsRetained >= 20 || st.HintsRetainedBytes > limit*3/4 {
			t.Fatalf("after delivery: %d hints, %d retained (%d bytes); want 0 hints and some retained within %d bytes", st.Hints, st.HintsRetained, st.HintsRetainedBytes, limit*3/4)
		}
		for k, obj := range objs {
			if g := c.get("n2", k); !g.Object.Equal(obj) {
				t.Fatalf("owner holds %v for %s, want the delivered %v", values(g.Object), k, values(obj))
			}
			if g := c.get("n1", k); g.Found {
				t.Fatalf("the fallback serves %s from a retained record", k)
			}
		}
		c.stop("n1")
		c.start("n1")
		again := c.status("n1")
		if again.HintsRetained != st.HintsRetained || again.HintsRetainedBytes != st.HintsRetainedBytes || again.Hints != 0 {
			t.Fatalf("after a restart: %d retained (%d bytes), %d hints; before %d (%d bytes), 0", again.HintsRetained, again.HintsRetainedBytes, again.Hints, st.HintsRetained, st.HintsRetainedBytes)
		}
		// The newest keys (ties broken by key) were kept: ret-19 is one.
		next := c.coordinate("n1", "n2", "ret-19", "w", objs["ret-19"].VV)
		old := objs["ret-19"].Siblings[0].Dot
		if d := next.Siblings[0].Dot; d.Actor != old.Actor || d.Counter != old.Counter+1 {
			t.Fatalf("a write over a retained record took %v, want %s:%d (its actor kept)", d, old.Actor, old.Counter+1)
		}
		if st := c.status("n1"); st.Hints != 1 || st.HintsRetained != again.HintsRetained-1 {
			t.Fatalf("after the write: %d hints, %d retained; want 1 and %d (one revived)", st.Hints, st.HintsRetained, again.HintsRetained-1)
		}
	})
}
