package sim

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/driver"
)

// slowHost makes node n answer late: every packet to or from it takes
// delay plus up to jitter more.
func slowHost(t *testing.T, c *Cluster, n *Node, delay, jitter time.Duration) {
	t.Helper()
	h, _, err := net.SplitHostPort(n.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Net.SetHostDelay(h, delay, jitter)
}

// opsResult is what a run of puts and gets saw.
type opsResult struct {
	failed, total int
	slowest       time.Duration
	firstErr      error
}

// runOps has workers goroutines each put and read back keys keys.
func runOps(ctx context.Context, cl *driver.Client, workers, keys int) opsResult {
	var (
		mu  sync.Mutex
		res opsResult
		wg  sync.WaitGroup
	)
	note := func(start time.Time, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.total++
		res.slowest = max(res.slowest, time.Since(start))
		if err != nil {
			res.failed++
			if res.firstErr == nil {
				res.firstErr = err
			}
		}
	}
	for w := range workers {
		wg.Go(func() {
			for i := range keys {
				k := []byte(fmt.Sprintf("w%d-k%d", w, i))
				start := time.Now()
				_, err := cl.Put(ctx, k, []byte("v"), nil)
				note(start, err)
				start = time.Now()
				_, err = cl.Get(ctx, k)
				note(start, err)
			}
		})
	}
	wg.Wait()
	return res
}

// TestAllNodesSlowIsNotFailure starves every node at once (answers take
// 1.4s to 4s, far over the 250ms silence and the 1s attempt limit) with a
// 60s deadline per call: the adaptive driver completes every operation,
// slower but whole, and marks no node down for good. The driver with
// static timeouts, the negative control, fails them: each attempt is cut
// short before its answer can come.
func TestAllNodesSlowIsNotFailure(t *testing.T) {
	for _, static := range []bool{false, true} {
		t.Run(fmt.Sprintf("static=%v", static), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, cl := healthy(t, func(cfg *driver.Config) {
					cfg.Timeout = 60 * time.Second
					cfg.StaticTimeouts = static
				})
				if r := runOps(t.Context(), cl, 2, 2); r.failed > 0 {
					t.Fatalf("healthy warm-up: %d of %d failed: %v", r.failed, r.total, r.firstErr)
				}
				for _, n := range c.Nodes {
					slowHost(t, c, n, 700*time.Millisecond, 1300*time.Millisecond)
				}
				start := time.Now()
				r := runOps(t.Context(), cl, 4, 3)
				t.Logf("every node slow: %d of %d operations failed in %v, slowest %v; thresholds now %+v; first error: %v",
					r.failed, r.total, time.Since(start), r.slowest, cl.Thresholds(), r.firstErr)
				if !static && r.failed > 0 {
					t.Fatalf("%d of %d operations failed with every node slow but alive: %v", r.failed, r.total, r.firstErr)
				}
				if static && r.failed == 0 {
					t.Fatal("the static-timeout control completed every operation: the test does not exercise slowness")
				}
				for _, n := range c.Nodes {
					slowHost(t, c, n, 0, 0)
				}
			})
		})
	}
}

// TestOneSlowNodeIsMarkedDown slows one node of three while the others
// stay fast: the driver marks it down (it is judged against the others,
// not excused by them), and operations go on at the others' pace, each
// well under a second.
func TestOneSlowNodeIsMarkedDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cl := healthy(t, func(cfg *driver.Config) { cfg.Timeout = 60 * time.Second })
		slow := c.Nodes[2]
		slowHost(t, c, slow, 700*time.Millisecond, 1300*time.Millisecond)
		r := runOps(t.Context(), cl, 4, 5)
		b := cl.Belief(slow.ID)
		t.Logf("one node slow: %d of %d failed, slowest %v; it is believed %+v; thresholds %+v", r.failed, r.total, r.slowest, b, cl.Thresholds())
		if r.failed > 0 {
			t.Fatalf("%d of %d operations failed: %v", r.failed, r.total, r.firstErr)
		}
		if b.Up {
			t.Fatal("the one slow node is still believed up")
		}
		if r.slowest > time.Second {
			t.Fatalf("slowest operation took %v, want under 1s: the slow node was waited for", r.slowest)
		}
		if th := cl.Thresholds(); th.Silence != 250*time.Millisecond || th.Multiplier != 1 {
			t.Fatalf("thresholds %+v, want the configured floors: one slow node is not the client's fault", th)
		}
		slowHost(t, c, slow, 0, 0)
	})
}
