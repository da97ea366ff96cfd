package transportbench

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// latencies gathers per-call durations. Each caller keeps its own slice and
// hands it over once, so recording costs no synchronisation per call.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(own []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, own...)
	l.mu.Unlock()
}

// quantile returns the q-quantile (nearest rank) of sorted.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// report adds p50-ns, p99-ns and ops/s to the benchmark's result. Call it
// after b.StopTimer.
func (l *latencies) report(b *testing.B) {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.all)
	b.ReportMetric(float64(quantile(l.all, 0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(quantile(l.all, 0.99).Nanoseconds()), "p99-ns")
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "ops/s")
	}
}
