package hostile

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shoalkv/shoal/driver"
)

// benignOpLimit bounds each benign operation during an attack. It is a
// generous sanity check (machines are noisy), not a speed target: those live
// in benchmarks.
const benignOpLimit = 5 * time.Second

// benignMinOps is the fewest benign operations an attack of a few seconds
// must let through; fewer means the client was not really served.
const benignMinOps = 4

// benignLoad is a client writing and reading its own small keys in a loop
// with W = R = N, so that every operation needs the attacked node too (in a
// three-node cluster there is no fallback to stand in for it).
type benignLoad struct {
	stop chan struct{}
	done chan struct{}
	rep  benignReport
}

// benignReport is what the benign client saw.
type benignReport struct {
	Ops       int             // operations that succeeded with the right answer
	Failures  []string        // the first few failures, described
	Failed    int             // every failed operation
	Latencies []time.Duration // of every operation, failed ones included
}

// maxFailures is how many failures a report describes.
const maxFailures = 5

func (r *benignReport) fail(format string, args ...any) {
	r.Failed++
	if len(r.Failures) < maxFailures {
		r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
	}
}

// p99 is the 99th percentile latency (0 without operations).
func (r benignReport) p99() time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	l := slices.Clone(r.Latencies)
	slices.Sort(l)
	return l[(len(l)*99)/100]
}

// problem describes what makes the report a failure of the class, or
// returns "": any failed operation, any over limit, or fewer than minOps.
func (r benignReport) problem(class string, limit time.Duration, minOps int) string {
	var slow int
	var worst time.Duration
	for _, d := range r.Latencies {
		worst = max(worst, d)
		if d > limit {
			slow++
		}
	}
	switch {
	case r.Failed > 0:
		return fmt.Sprintf("benign client during %s attack: %d of %d operations failed (slowest %v); first: %v",
			class, r.Failed, r.Failed+r.Ops, worst, r.Failures)
	case slow > 0:
		return fmt.Sprintf("benign client during %s attack: %d of %d operations over %v (slowest %v)", class, slow, r.Ops, limit, worst)
	case r.Ops < minOps:
		return fmt.Sprintf("benign client during %s attack: only %d operations completed, want at least %d", class, r.Ops, minOps)
	}
	return ""
}

// startBenign runs the benign loop on cl until Stop.
func startBenign(cl *driver.Client, n int) *benignLoad {
	b := &benignLoad{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for i := 0; ; i++ {
			select {
			case <-b.stop:
				return
			default:
			}
			b.op(cl, n, i)
		}
	}()
	return b
}

// op puts one key and reads it back.
func (b *benignLoad) op(cl *driver.Client, n, i int) {
	key := fmt.Appendf(nil, "benign-%05d", i)
	val := fmt.Appendf(nil, "benign value %d", i)
	ctx, cancel := context.WithTimeout(context.Background(), benignOpLimit)
	defer cancel()
	start := time.Now()
	_, err := cl.Put(ctx, key, val, nil, driver.WithW(n))
	b.rep.Latencies = append(b.rep.Latencies, time.Since(start))
	if err != nil {
		b.rep.fail("put %s: %v", key, err)
		return
	}
	b.rep.Ops++
	start = time.Now()
	got, err := cl.Get(ctx, key, driver.WithR(n))
	b.rep.Latencies = append(b.rep.Latencies, time.Since(start))
	switch {
	case err != nil:
		b.rep.fail("get %s: %v", key, err)
	case len(got.Values) != 1 || string(got.Values[0]) != string(val):
		b.rep.fail("get %s: values %q, want [%q]", key, got.Values, val)
	default:
		b.rep.Ops++
	}
}

// Stop ends the loop after its current operation and returns the report;
// call it once.
func (b *benignLoad) Stop() benignReport {
	close(b.stop)
	<-b.done
	return b.rep
}
