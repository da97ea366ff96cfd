package systest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
)

// benchCallers is how many goroutines issue requests at once.
const benchCallers = 64

// latencies collects per-call durations from parallel goroutines.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, elapsed time.Duration) {
	slices.Sort(l.all)
	if len(l.all) == 0 {
		return
	}
	q := func(p float64) float64 {
		return float64(l.all[int(p*float64(len(l.all)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(l.all))/elapsed.Seconds(), "ops/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// runParallel runs op from benchCallers goroutines, b.N calls in all.
func runParallel(b *testing.B, op func(ctx context.Context, rng *rand.Rand, i int64) error) {
	b.Helper()
	var lat latencies
	var next atomic.Int64
	var failed atomic.Int64
	ctx := context.Background()
	b.SetParallelism((benchCallers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(uint64(next.Add(1)), 7))
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			i := next.Add(1)
			t0 := time.Now()
			if err := op(ctx, rng, i); err != nil {
				failed.Add(1)
				continue
			}
			local = append(local, time.Since(t0))
		}
		lat.add(local)
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d operations failed", f)
	}
	lat.report(b, elapsed)
}

// BenchmarkDriverPut: durable quorum puts (N=3, W=2, fsync on) of 100-byte
// values under fresh keys through the driver, against 3 storaged processes
// on loopback, 64 callers.
func BenchmarkDriverPut(b *testing.B) {
	c := testcluster.Start(b, testcluster.Options{})
	cl := c.Client(nil)
	value := make([]byte, 100)
	runParallel(b, func(ctx context.Context, _ *rand.Rand, i int64) error {
		_, err := cl.Put(ctx, fmt.Appendf(nil, "bench-put-%d", i), value, nil)
		return err
	})
}

// BenchmarkDriverGet: quorum gets (R=2) of 100-byte values chosen uniformly
// among 10,000 keys, against 3 storaged processes on loopback, 64 callers.
func BenchmarkDriverGet(b *testing.B) {
	c := testcluster.Start(b, testcluster.Options{})
	cl := c.Client(nil)
	const keys = 10000
	value := make([]byte, 100)
	var wg sync.WaitGroup
	var errs atomic.Int64
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < keys; i += 32 {
				if _, err := cl.Put(context.Background(), fmt.Appendf(nil, "bench-get-%d", i), value, nil, driver.WithW(3)); err != nil {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if errs.Load() > 0 {
		b.Fatalf("%d preload puts failed", errs.Load())
	}
	runParallel(b, func(ctx context.Context, rng *rand.Rand, _ int64) error {
		_, err := cl.Get(ctx, fmt.Appendf(nil, "bench-get-%d", rng.IntN(keys)))
		return err
	})
}
