package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/history"
	"github.com/shoalkv/shoal/internal/setvalue"
)

// Resolver folds an Update's siblings and adds one element
// (setvalue.Union, or setvalue.LastWriteWins for the negative control).
type Resolver func(siblings [][]byte, add uint64, now int64) ([]byte, error)

// setWorkload is Jepsen's set workload: each client adds unique elements
// to a few keys through driver.Update, with a think time between adds.
type setWorkload struct {
	keys      int
	deletes   float64 // the share of operations that delete a key's set
	think     [2]time.Duration
	timeout   time.Duration
	resolve   Resolver
	rec       *history.Recorder
	next      atomic.Uint64
	siblings  atomic.Int64 // the most siblings an Update saw
	ok, fails atomic.Int64
	deleted   atomic.Int64 // deletes acknowledged
}

func setKey(k int) string { return fmt.Sprintf("set-%d", k) }

// run runs client i (drawing its choices from rng) until ctx ends.
func (w *setWorkload) run(ctx context.Context, i int, cl *driver.Client, rng *rand.Rand) {
	for {
		t := time.NewTimer(dur(rng, w.think[0], w.think[1]))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		key := setKey(rng.IntN(w.keys))
		if w.deletes > 0 && rng.Float64() < w.deletes {
			w.delete(i, cl, key)
			continue
		}
		elem := w.next.Add(1)
		op := w.rec.Invoke(i, history.AddF, key, elem)
		octx, cancel := context.WithTimeout(context.Background(), w.timeout)
		err := cl.Update(octx, []byte(key), func(sibs [][]byte) ([]byte, error) {
			for n := int64(len(sibs)); ; {
				m := w.siblings.Load()
				if n <= m || w.siblings.CompareAndSwap(m, n) {
					break
				}
			}
			return w.resolve(sibs, elem, time.Now().UnixNano())
		})
		cancel()
		switch {
		case err == nil:
			op.Ok()
			w.ok.Add(1)
		case errors.Is(err, driver.ErrUnknownOutcome):
			op.Unknown(err)
			w.fails.Add(1)
		default:
			op.Fail(err)
			w.fails.Add(1)
		}
	}
}

// delete reads key and deletes what it read: a tombstone under the read's
// context, which supersedes exactly the versions read. A read that fails
// deletes nothing and is not recorded.
func (w *setWorkload) delete(i int, cl *driver.Client, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	v, err := cl.Get(ctx, []byte(key))
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return
	}
	s, err := setvalue.Merge(v.Values)
	if err != nil {
		return // the final read reports a corrupt sibling
	}
	op := w.rec.InvokeDelete(i, key, s.Elements)
	err = cl.Delete(ctx, []byte(key), v.Context)
	switch {
	case err == nil:
		op.Ok()
		w.deleted.Add(1)
	case errors.Is(err, driver.ErrUnknownOutcome):
		op.Unknown(err)
	default:
		op.Fail(err)
	}
}

// runClients runs every client until ctx ends.
func (w *setWorkload) runClients(ctx context.Context, clients []*driver.Client, rngs []*rand.Rand) {
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() { w.run(ctx, i, cl, rngs[i]) })
	}
	wg.Wait()
}
