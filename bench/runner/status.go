package runner

import (
	"time"

	"github.com/shoalkv/shoal/bench/measure"
)

// Status is a periodic report of a running phase.
type Status struct {
	// Elapsed is the time since the phase started.
	Elapsed time.Duration
	// Operations is the number completed so far.
	Operations int64
	// Interval is the time the interval figures cover.
	Interval time.Duration
	// Ops holds the latencies of the interval's operations (from the
	// intended start in an open loop).
	Ops *measure.Interval
	// Open is set for an open loop; Backlog is then how many scheduled
	// operations had not started yet.
	Open    bool
	Backlog int64
}

// Throughput is the interval's completed operations per second.
func (s Status) Throughput() float64 {
	if s.Interval <= 0 {
		return 0
	}
	return float64(s.Ops.Count()) / s.Interval.Seconds()
}

// report calls OnStatus every StatusInterval until stop is closed.
func (r *run) report(stop <-chan struct{}) {
	if r.cfg.StatusInterval <= 0 || r.cfg.OnStatus == nil {
		<-stop
		return
	}
	t := time.NewTicker(r.cfg.StatusInterval)
	defer t.Stop()
	last := r.t0
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := r.cfg.Clock.Now()
		s := Status{Elapsed: now.Sub(r.t0), Interval: now.Sub(last), Ops: &measure.Interval{}, Open: r.cfg.Target > 0}
		last = now
		for _, rec := range r.recs {
			rec.TakeInterval(s.Ops)
		}
		s.Operations = r.completed.Load()
		if s.Open {
			s.Backlog = max(0, r.scheduledBy(now)-r.started.Load())
		}
		r.cfg.OnStatus(s)
	}
}
