// Package runner drives a store with a workload's operations, in a closed
// loop (each of T workers starts its next operation when the previous one
// ends) or an open loop (operations are scheduled at a target rate and
// measured from their scheduled start, so a stall delays, and is charged
// to, every operation scheduled during it: no coordinated omission).
//
// Two limits of the open loop's figures:
//   - Open-loop latency includes the client's own timer oversleep: a
//     worker sleeps until an operation's intended start and the Go timer
//     wakes it late (a few hundred µs to about 1 ms on a loaded 2-core VM),
//     and that lateness is charged to the operation. The runner does not
//     spin out the last part of the wait: on a machine the client shares
//     with the store, spinning would take CPU from the store it measures.
//     Service latency (Recorder's service histogram) starts when the
//     operation does and excludes it.
//   - Percentiles cover only operations that started. Operations that were
//     due but never started when the phase stopped have no latency; they
//     are counted as Result.Backlog and are not in the histograms, so a
//     phase with a backlog understates its latency.
package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/bench/measure"
	"github.com/shoalkv/shoal/bench/workload"
)

// Config configures Run. The zero value runs one closed-loop worker until
// its context ends.
type Config struct {
	// Threads is the number of workers (default 1). In an open loop it caps
	// the operations in flight; operations that find every worker busy wait,
	// and the wait is part of their latency.
	Threads int
	// Target is the open-loop rate in operations per second; 0 runs a closed
	// loop.
	Target float64
	// Operations bounds the phase's operation count; 0 means no bound.
	Operations int64
	// Duration bounds the phase's time; 0 means no bound. An open loop
	// that has fallen behind stops at Duration too, and reports the
	// operations it did not start as Backlog.
	Duration time.Duration
	// StatusInterval is how often OnStatus is called (0: never).
	StatusInterval time.Duration
	// OnStatus receives status reports from the runner's reporter
	// goroutine.
	OnStatus func(Status)
	// Clock defaults to RealClock.
	Clock Clock
	// OpContext is the context operations run under (default: Run's
	// context without its cancellation, so that ending Run's context stops
	// new operations but lets those in flight finish). Cancel it to abandon
	// operations in flight.
	OpContext context.Context
	// Seed seeds worker i's generator with (Seed, i), so the operation
	// sequence of each worker is repeatable.
	Seed uint64
}

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("runner: invalid config")

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Threads < 0 {
		errs = append(errs, fmt.Errorf("%w: threads=%d", ErrConfig, c.Threads))
	}
	if c.Target < 0 || math.IsNaN(c.Target) || math.IsInf(c.Target, 0) {
		errs = append(errs, fmt.Errorf("%w: target=%v ops/s", ErrConfig, c.Target))
	}
	if c.Operations < 0 || c.Duration < 0 || c.StatusInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: negative operation count or duration", ErrConfig))
	}
	return errors.Join(errs...)
}

// Result is what a phase measured.
type Result struct {
	Summary *measure.Summary
	// RunTime is from the phase's start to the end of its last operation.
	RunTime time.Duration
	// Threads and Target echo the configuration (Target 0: closed loop).
	Threads int
	Target  float64
	// Backlog counts, in an open loop, the operations whose scheduled start
	// had passed when the phase stopped but that had not started: the
	// store had fallen that far behind the target rate. They are in no
	// histogram of Summary: the percentiles exclude them.
	Backlog int64
	// Interrupted is set when the context ended the phase before its
	// operation count or duration did.
	Interrupted bool
}

// Open reports whether the phase ran an open loop.
func (r *Result) Open() bool { return r.Target > 0 }

// Throughput is completed operations per second of RunTime.
func (r *Result) Throughput() float64 {
	if r.RunTime <= 0 {
		return 0
	}
	return float64(r.Summary.Count()) / r.RunTime.Seconds()
}

// Run executes src's operations against db until cfg's bounds are reached
// or ctx ends. When ctx ends, no new operation starts; operations in flight
// finish (under the DB's own timeouts) and are counted, so the result is
// the summary of what ran.
func Run(ctx context.Context, db workload.DB, src Source, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Threads == 0 {
		cfg.Threads = 1
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.OpContext == nil {
		cfg.OpContext = context.WithoutCancel(ctx)
	}
	r := &run{cfg: cfg, db: db, src: src, stop: ctx, opCtx: cfg.OpContext}
	r.t0 = cfg.Clock.Now()
	if cfg.Duration > 0 {
		r.end = r.t0.Add(cfg.Duration)
	}
	r.recs = make([]*measure.Recorder, cfg.Threads)
	for i := range r.recs {
		r.recs[i] = measure.NewRecorder(cfg.Target > 0)
	}

	var cancelledAt atomic.Pointer[time.Time]
	stopWatch := context.AfterFunc(ctx, func() {
		now := cfg.Clock.Now()
		cancelledAt.Store(&now)
	})
	defer stopWatch()

	var wg sync.WaitGroup
	for i := range cfg.Threads {
		wg.Go(func() { r.worker(i) })
	}
	reporterDone := make(chan struct{})
	stopReporter := make(chan struct{})
	go func() {
		defer close(reporterDone)
		r.report(stopReporter)
	}()
	wg.Wait()
	close(stopReporter)
	<-reporterDone

	stopped := cfg.Clock.Now()
	res := &Result{
		Summary:     measure.Merge(r.recs),
		RunTime:     stopped.Sub(r.t0),
		Threads:     cfg.Threads,
		Target:      cfg.Target,
		Interrupted: ctx.Err() != nil && !r.bounded.Load(),
	}
	if cfg.Target > 0 {
		// Issuing stopped at the duration bound or at cancellation, if
		// either came before the last operation ended.
		at := stopped
		if r.stopAt().Before(at) {
			at = r.stopAt()
		}
		if c := cancelledAt.Load(); c != nil && c.Before(at) {
			at = *c
		}
		res.Backlog = max(0, r.scheduledBy(at)-r.started.Load())
	}
	return res, nil
}

type run struct {
	cfg   Config
	db    workload.DB
	src   Source
	stop  context.Context // ends issuing
	opCtx context.Context // operations in flight outlive stop
	t0    time.Time
	end   time.Time // zero: no duration bound
	recs  []*measure.Recorder

	next      atomic.Int64 // next operation index to hand out
	started   atomic.Int64
	completed atomic.Int64
	bounded   atomic.Bool // a bound (count or duration) ended the phase
}

// intended is operation i's scheduled start in an open loop.
func (r *run) intended(i int64) time.Time {
	return r.t0.Add(time.Duration(float64(i) * float64(time.Second) / r.cfg.Target))
}

// scheduledBy is how many operations an open loop has scheduled strictly
// before t (operation i is due at i/Target), within the operation bound.
func (r *run) scheduledBy(t time.Time) int64 {
	due := t.Sub(r.t0).Seconds() * r.cfg.Target
	n := int64(math.Ceil(due - 1e-9))
	if r.cfg.Operations > 0 {
		n = min(n, r.cfg.Operations)
	}
	return max(n, 0)
}

// stopAt is when issuing stops: the duration bound, or never (far future).
func (r *run) stopAt() time.Time {
	if r.end.IsZero() {
		return r.t0.Add(1 << 62)
	}
	return r.end
}

// pastEnd reports whether the duration bound has been reached.
func (r *run) pastEnd(now time.Time) bool {
	if !r.end.IsZero() && !now.Before(r.end) {
		r.bounded.Store(true)
		return true
	}
	return false
}

func (r *run) worker(id int) {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(id)))
	rec := r.recs[id]
	clock := r.cfg.Clock
	open := r.cfg.Target > 0
	for r.stop.Err() == nil {
		i := r.next.Add(1) - 1
		if r.cfg.Operations > 0 && i >= r.cfg.Operations {
			r.bounded.Store(true)
			return
		}
		var intended time.Time
		if open {
			intended = r.intended(i)
			if !r.end.IsZero() && !intended.Before(r.end) {
				r.bounded.Store(true)
				return
			}
			if err := clock.SleepUntil(r.stop, intended); err != nil {
				return
			}
		}
		if r.pastEnd(clock.Now()) {
			return
		}
		req := r.src.Next(rng, i)
		start := clock.Now()
		if !open {
			intended = start
		}
		r.started.Add(1)
		err := r.src.Exec(r.opCtx, r.db, req)
		done := clock.Now()
		r.src.Done(req)
		rec.Record(req.Op, workload.StatusOf(err), done.Sub(intended), done.Sub(start))
		r.completed.Add(1)
	}
}
