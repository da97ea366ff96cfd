// Package nemesis injects faults into a real test cluster on a schedule,
// the way Jepsen's nemesis does: kill -9 and restart nodes, pause them with
// SIGSTOP and resume them, partition the network between nodes (and
// clients). Run injects the faults of a Plan while the test's clients work,
// and whatever happens it leaves the cluster healed: every node running and
// continued, no partition.
//
// Only tests may import it.
package nemesis

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/shoalkv/shoal/internal/netfault"
	"github.com/shoalkv/shoal/internal/testcluster"
)

// Nemesis injects faults into one cluster. Run calls must not overlap.
type Nemesis struct {
	t   target
	net network // nil: partitions are refused
}

// New returns a Nemesis for c; net may be nil when the plan has no
// partitions (netfault.New skips tests that cannot have one).
func New(c *testcluster.Cluster, net *netfault.Net) *Nemesis {
	m := &Nemesis{t: cluster{c}}
	if net != nil {
		m.net = net
	}
	return m
}

// Run validates plan and injects its faults until the plan is done (a
// timed plan, after its last fault ends) or ctx ends (the way to stop a
// cycle). A fault under way when ctx ends is undone at once. Run stops
// injecting at the first error. Whatever the outcome, before returning it
// heals the whole cluster: it restarts every node that is not running,
// sends SIGCONT to every node that is, and removes any partition. It
// returns the errors met (nil when ctx ending was the only reason to stop),
// and calls plan.Observe from its own goroutine only. It never fails the
// test itself, so it may run on any goroutine.
func (m *Nemesis) Run(ctx context.Context, plan Plan) error {
	if err := plan.Validate(m.t.size(), m.net != nil); err != nil {
		return err
	}
	r := &run{m: m, plan: plan, start: time.Now()}
	err := r.faults(ctx)
	return errors.Join(err, r.heal())
}

// run is the state of one Run.
type run struct {
	m     *Nemesis
	plan  Plan
	start time.Time
}

// faults injects the plan's faults until it is done, ctx ends or one
// fails.
func (r *run) faults(ctx context.Context) error {
	if len(r.plan.Faults) == 0 {
		for i := 0; ; i++ {
			if !sleep(ctx, r.plan.gap()) {
				return nil
			}
			f := choose(r.plan.Rand, r.plan.Cycle[i%len(r.plan.Cycle)], r.m.t.size(), r.plan.ClientIPs)
			if err := r.inject(ctx, f); err != nil {
				return err
			}
		}
	}
	faults := slices.Clone(r.plan.Faults)
	slices.SortStableFunc(faults, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
	for _, f := range faults {
		if !sleep(ctx, time.Until(r.start.Add(f.At))) {
			return nil
		}
		if err := r.inject(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// inject begins f, lets it last (or not, when ctx ends) and ends it. When
// beginning fails part way, the end still runs, to undo what began.
func (r *run) inject(ctx context.Context, f Fault) error {
	text, err := r.begin(f)
	r.observe(Begin, f, text, err)
	if err == nil {
		sleep(ctx, r.plan.faultFor(f))
	}
	text, endErr := r.end(f)
	r.observe(End, f, text, endErr)
	return errors.Join(err, endErr)
}

func (r *run) observe(p Phase, f Fault, text string, err error) {
	if r.plan.Observe != nil {
		r.plan.Observe(Event{At: time.Since(r.start), Phase: p, Fault: f, Text: text, Err: err})
	}
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
