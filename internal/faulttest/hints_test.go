package faulttest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
)

// TestTwoPrimariesDownWritesStillSucceed: 5 nodes, N=3 W=2 R=2. Two nodes
// that are primaries of every key under test die (kill -9), so each key has
// one healthy primary left; every write must still succeed, with fallbacks
// holding hints. After the two restart, every hint is delivered within 30s,
// the hint stores are empty, and reads from primaries only (R=3, PR=3) return
// every acknowledged write.
func TestTwoPrimariesDownWritesStillSucceed(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Nodes: 5})
	cl := c.Client(nil)
	ctx := ctxT(t, 3*time.Minute)
	keys := keysOwnedBy(cl.Ring(), 3, "sloppy", 100, "n1", "n2")

	c.Kill(nodeIndex(t, c, "n1"))
	c.Kill(nodeIndex(t, c, "n2"))
	start := time.Now()
	var failed []string
	for _, k := range keys {
		if _, err := cl.Put(ctx, []byte(k), []byte("v:"+k), nil); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", k, err))
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d writes failed with two primaries down; first: %s", len(failed), len(keys), failed[0])
	}
	t.Logf("%d writes with 2 of 3 primaries dead took %v", len(keys), time.Since(start).Round(time.Millisecond))
	// While they are down, reads find the writes on the stand-ins.
	for _, k := range keys {
		v, err := cl.Get(ctx, []byte(k))
		if err != nil || len(v.Values) != 1 || string(v.Values[0]) != "v:"+k {
			t.Fatalf("read %s during the outage: %q, %v", k, v.Values, err)
		}
	}
	total, holders, _ := pendingHints(ctx, cl)
	if total == 0 {
		t.Fatal("no node reports hints after writes with two primaries down")
	}
	t.Logf("pending hints during the outage: %d %v", total, holders)

	c.Restart(nodeIndex(t, c, "n1"))
	c.Restart(nodeIndex(t, c, "n2"))
	d := waitHintsDrained(t, ctx, cl, 30*time.Second)
	t.Logf("hints drained %v after the restarts", d.Round(time.Millisecond))
	for _, k := range keys {
		v, err := cl.Get(ctx, []byte(k), driver.WithR(3), driver.WithPR(3))
		if err != nil || len(v.Values) != 1 || string(v.Values[0]) != "v:"+k {
			t.Fatalf("primaries-only read of %s after handoff: %q, %v", k, v.Values, err)
		}
	}
}

// TestHintHolderKill9KeepsHints: a node holding hints for a dead owner is
// killed with kill -9 before it can deliver them; after its restart it still
// holds them, and it delivers them once the owner is back.
func TestHintHolderKill9KeepsHints(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Nodes: 5})
	cl := c.Client(nil)
	ctx := ctxT(t, 3*time.Minute)
	keys := keysOwnedBy(cl.Ring(), 3, "holder", 60, "n1")

	owner := nodeIndex(t, c, "n1")
	c.Kill(owner)
	for _, k := range keys {
		if _, err := cl.Put(ctx, []byte(k), []byte("v:"+k), nil); err != nil {
			t.Fatalf("put %s with n1 down: %v", k, err)
		}
	}
	_, holders, _ := pendingHints(ctx, cl)
	var holder string
	for id, n := range holders {
		if holder == "" || n > holders[holder] || (n == holders[holder] && id < holder) {
			holder = id
		}
	}
	if holder == "" {
		t.Fatal("no node holds hints for the dead owner")
	}
	before := holders[holder]
	hi := nodeIndex(t, c, holder)
	c.Kill(hi)
	c.Restart(hi)
	// The driver may first try its old connection to the dead process;
	// it must find the restarted node within a few seconds.
	var after uint64
	for deadline := time.Now().Add(15 * time.Second); ; {
		var err error
		for _, s := range cl.Status(ctx) {
			if string(s.Node.ID) == holder {
				after, err = s.Info.Hints, s.Err
			}
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status of %s after restart: %v", holder, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if after != before {
		t.Fatalf("%s held %d hints before kill -9 and %d after its restart", holder, before, after)
	}
	t.Logf("%s kept its %d hints across kill -9", holder, after)

	c.Restart(owner)
	d := waitHintsDrained(t, ctx, cl, 30*time.Second)
	t.Logf("hints drained %v after the owner restarted", d.Round(time.Millisecond))
	for _, k := range keys {
		v, err := cl.Get(ctx, []byte(k), driver.WithR(3), driver.WithPR(3))
		if err != nil || len(v.Values) != 1 || !bytes.Equal(v.Values[0], []byte("v:"+k)) {
			t.Fatalf("primaries-only read of %s: %q, %v", k, v.Values, err)
		}
	}
}
