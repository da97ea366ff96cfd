package measure

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/bench/workload"
)

// exactPercentile is the nearest-rank percentile of sorted values: the
// smallest value with at least p% of the values at or below it. The rank
// forgives float error (99.9/100*200000 is 199800.00000000003).
func exactPercentile(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-6))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// latencies draws n latencies from a heavy-tailed mix: a lognormal body
// around 1 ms and 1% of stalls up to 2 s, the shape a loaded cluster gives.
func latencies(seed uint64, n int) []time.Duration {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]time.Duration, n)
	for i := range out {
		us := math.Exp(7 + 0.6*r.NormFloat64())
		if r.IntN(100) == 0 {
			us = 1e4 + r.Float64()*2e6
		}
		out[i] = time.Duration(us * float64(time.Microsecond))
	}
	return out
}

// TestPercentilesMatchSortedLatencies records latencies into per-worker
// recorders, merges them, and compares every reported percentile with the
// same percentile of the sorted list: they must be equal at the histogram's
// precision (3 significant digits: within 0.1% of the value, and never below
// it, since HDR reports the top of the bucket).
func TestPercentilesMatchSortedLatencies(t *testing.T) {
	const workers, n = 4, 200_000
	lat := latencies(1, n)
	recs := make([]*Recorder, workers)
	for i := range recs {
		recs[i] = NewRecorder(false)
	}
	exact := make([]int64, n)
	r := rand.New(rand.NewPCG(2, 2))
	for i, d := range lat {
		recs[r.IntN(workers)].Record(workload.Read, workload.OK, d, d)
		exact[i] = int64(d / time.Microsecond)
	}
	slices.Sort(exact)
	h := Merge(recs).Get(workload.Read).OK
	if h.Count() != n {
		t.Fatalf("merged count %d, want %d", h.Count(), n)
	}
	for _, p := range []float64{1, 10, 50, 90, 95, 99, 99.9, 99.99, 100} {
		want := exactPercentile(exact, p)
		got := h.PercentileMicros(p)
		tol := float64(want) / 1000 // 3 significant digits
		if float64(got) < float64(want) || float64(got-want) > tol+1 || !h.Equivalent(got, want) {
			t.Errorf("p%v: histogram %d us, sorted list %d us (tolerance +%.1f us)", p, got, want, tol+1)
		}
	}
	if got, want := h.MinMicros(), exact[0]; !h.Equivalent(got, want) {
		t.Errorf("min %d, want %d", got, want)
	}
	if got, want := h.MaxMicros(), exact[n-1]; !h.Equivalent(got, want) {
		t.Errorf("max %d, want %d", got, want)
	}
	var sum float64
	for _, v := range exact {
		sum += float64(v)
	}
	if mean := sum / n; math.Abs(h.MeanMicros()-mean) > mean/1000 {
		t.Errorf("mean %.1f, want %.1f", h.MeanMicros(), mean)
	}
}

func TestClampAndReturns(t *testing.T) {
	r := NewRecorder(true)
	r.Record(workload.Update, workload.OK, 2*time.Hour, time.Millisecond)
	r.Record(workload.Update, workload.Error, time.Second, time.Second)
	r.Record(workload.Update, workload.NotFound, time.Millisecond, time.Millisecond)
	s := Merge([]*Recorder{r}).Get(workload.Update)
	if s.OK.Clamped() != 1 || s.OK.MaxMicros() < HighestMicros*999/1000 {
		t.Errorf("a 2 h latency: clamped %d, max %d", s.OK.Clamped(), s.OK.MaxMicros())
	}
	if s.Returns != [workload.NumStatuses]int64{1, 1, 1} || s.Count() != 3 {
		t.Errorf("returns %v", s.Returns)
	}
	if s.OK.Count() != 2 || s.Failed.Count() != 1 || s.Service.Count() != 3 {
		t.Errorf("ok %d failed %d service %d, want 2 1 3", s.OK.Count(), s.Failed.Count(), s.Service.Count())
	}
}

func TestIntervalsAreTakenOnce(t *testing.T) {
	r := NewRecorder(false)
	for range 10 {
		r.Record(workload.Read, workload.OK, time.Millisecond, time.Millisecond)
	}
	var iv Interval
	r.TakeInterval(&iv)
	if iv.Count() != 10 || iv.Get(workload.Read).Count() != 10 || iv.Get(workload.Update) != nil {
		t.Fatalf("first interval: %d", iv.Count())
	}
	var iv2 Interval
	r.TakeInterval(&iv2)
	if iv2.Count() != 0 {
		t.Fatalf("second interval has %d operations, want 0", iv2.Count())
	}
	if Merge([]*Recorder{r}).Count() != 10 {
		t.Error("taking intervals changed the summary")
	}
}
