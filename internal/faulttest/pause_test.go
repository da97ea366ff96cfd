package faulttest

import (
	"syscall"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
)

// TestPausedNodeNeverHidesNewerValue: a primary is paused (SIGSTOP) for 15s
// while its keys are overwritten, then resumed. From then on no read may
// return the old value, alone or as a sibling: the stale replica's copy is
// always merged under the newer one, never preferred to it.
func TestPausedNodeNeverHidesNewerValue(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Nodes: 5})
	cl := c.Client(nil)
	ctx := ctxT(t, 3*time.Minute)
	keys := keysOwnedBy(cl.Ring(), 3, "pause", 50, "n1")

	ctxs := make(map[string]driver.Context, len(keys))
	for _, k := range keys {
		cc, err := cl.Put(ctx, []byte(k), []byte("old"), nil)
		if err != nil {
			t.Fatalf("put old %s: %v", k, err)
		}
		ctxs[k] = cc
	}
	n1 := nodeIndex(t, c, "n1")
	c.Signal(n1, syscall.SIGSTOP)
	paused := time.Now()
	for _, k := range keys {
		if _, err := cl.Put(ctx, []byte(k), []byte("new"), ctxs[k]); err != nil {
			t.Fatalf("put new %s with n1 paused: %v", k, err)
		}
	}
	time.Sleep(15*time.Second - time.Since(paused))
	c.Signal(n1, syscall.SIGCONT)

	reads := 0
	check := func(opts ...driver.Option) {
		for _, k := range keys {
			v, err := cl.Get(ctx, []byte(k), opts...)
			if err != nil {
				t.Fatalf("read %s after resume: %v", k, err)
			}
			if len(v.Values) != 1 || string(v.Values[0]) != "new" {
				t.Fatalf("read %s after resume returned %q, want only \"new\"", k, v.Values)
			}
			reads++
		}
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		check()
		check(driver.WithR(3))
	}
	waitHintsDrained(t, ctx, cl, 30*time.Second)
	check(driver.WithR(3), driver.WithPR(3))
	t.Logf("%d reads after resuming the paused node, all \"new\"", reads)
}
