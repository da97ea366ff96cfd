package systest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalkv/shoal/internal/testcluster"
)

// TestKill9DuringWriteLoadLosesNoAcknowledgedWrite: 16 writers put unique
// keys at W=2; after 400 acknowledgements one storaged is killed with
// SIGKILL, writing goes on until 400 more, then the node restarts. Every
// acknowledged write must be readable, from any two replicas and from all
// three.
func TestKill9DuringWriteLoadLosesNoAcknowledgedWrite(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	cl := c.Client(nil)
	ctx := ctxT(t, 3*time.Minute)

	var (
		mu    sync.Mutex
		acked = map[string][]byte{}
		fails atomic.Int64
		count atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("load-%02d-%05d", w, i)
				v := bytes.Repeat([]byte{byte(w), byte(i)}, 50)
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := cl.Put(wctx, []byte(k), v, nil)
				cancel()
				if err != nil {
					fails.Add(1)
					continue
				}
				mu.Lock()
				acked[k] = v
				mu.Unlock()
				count.Add(1)
			}
		})
	}
	waitCount := func(n int64) {
		for count.Load() < n {
			if ctx.Err() != nil {
				t.Fatalf("only %d writes acknowledged before the deadline (failures %d)", count.Load(), fails.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitCount(400)
	victim := 1
	pid := c.PID(victim)
	c.Kill(victim)
	before := count.Load()
	waitCount(before + 400)
	close(stop)
	wg.Wait()
	t.Logf("killed %s (pid %d) after %d acks; %d acks in all, %d failed writes", c.Nodes[victim].ID, pid, before, count.Load(), fails.Load())
	c.Restart(victim)

	missing := 0
	for _, r := range []int{2, 3} {
		for k, v := range acked {
			got, err := cl.Get(ctx, []byte(k), withR(r))
			if err != nil || len(got.Values) != 1 || !bytes.Equal(got.Values[0], v) {
				missing++
				if missing < 10 {
					t.Errorf("R=%d: acknowledged %s: got %d values, err %v", r, k, len(got.Values), err)
				}
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d acknowledged writes not readable after kill -9 and restart", missing)
	}
}
