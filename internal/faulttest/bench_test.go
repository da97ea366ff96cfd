package faulttest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalkv/shoal/internal/testcluster"
)

// BenchmarkWritesAfterNodeDeath measures how quickly the driver stops
// waiting on a node that died: 8 writers put 1,000 keys on a healthy 5-node
// cluster (before), then one node is killed with kill -9 and they put the
// next 1,000 at once (after). It reports p50, p99 and max latency of both
// phases, the failures after the kill, and how many writes after it took
// over 100ms (those that met the dead node before the driver marked it down). One iteration is the whole
// experiment: run it with -benchtime=1x.
//
//	go test -run '^$' -bench WritesAfterNodeDeath -benchtime=1x -count=3 ./internal/faulttest/
func BenchmarkWritesAfterNodeDeath(b *testing.B) {
	for range b.N {
		c := testcluster.Start(b, testcluster.Options{Nodes: 5})
		cl := c.Client(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		before, _ := timedPuts(ctx, cl.Put, "before", 1000, 8)
		c.Kill(0)
		after, failed := timedPuts(ctx, cl.Put, "after", 1000, 8)
		cancel()
		pct := func(l []time.Duration, p float64) float64 {
			return float64(l[int(p*float64(len(l)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(before, 0.5), "before-p50-ms")
		b.ReportMetric(pct(before, 0.99), "before-p99-ms")
		b.ReportMetric(pct(after, 0.5), "after-p50-ms")
		b.ReportMetric(pct(after, 0.99), "after-p99-ms")
		b.ReportMetric(pct(after, 1), "after-max-ms")
		b.ReportMetric(float64(failed), "after-failed")
		slow := len(after) - sort.Search(len(after), func(i int) bool { return after[i] > 100*time.Millisecond })
		b.ReportMetric(float64(slow), "after-over-100ms")
		c.Restart(0) // so shutdown finds every node running
	}
}

// timedPuts runs total puts of distinct keys from workers goroutines and
// returns the sorted latencies and the number that failed.
func timedPuts[C ~[]byte, O any](ctx context.Context, put func(context.Context, []byte, []byte, C, ...O) (C, error), prefix string, total, workers int) ([]time.Duration, int) {
	var (
		next   atomic.Int64
		failed atomic.Int64
		mu     sync.Mutex
		lat    = make([]time.Duration, 0, total)
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				k := []byte(fmt.Sprintf("%s-%d", prefix, i))
				start := time.Now()
				_, err := put(ctx, k, []byte("value"), nil)
				d := time.Since(start)
				if err != nil {
					failed.Add(1)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, int(failed.Load())
}
