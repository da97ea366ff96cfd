package sim

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// nemesis carries out a Plan on a cluster, in virtual time.
type nemesis struct {
	c       *Cluster
	clients int
	hosts   []string // every node and client host
	log     func(string)

	mu    sync.Mutex
	loss  []float64 // loss rates in force
	base  Link
	owner map[int]bool // nodes whose crash a fault is holding
}

// run starts every fault of p at its time and returns when all of them
// have ended (or ctx ended and the ones in force were undone). Faults
// errors (a node that fails to restart) are returned.
func (m *nemesis) run(ctx context.Context, p Plan) error {
	start := time.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, f := range p.Faults {
		wg.Go(func() {
			if err := m.fault(ctx, start, f); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", f, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// sleepUntil waits until t or ctx's end.
func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}

func (m *nemesis) fault(ctx context.Context, start time.Time, f Fault) error {
	sleepUntil(ctx, start.Add(f.At))
	if ctx.Err() != nil {
		return nil
	}
	undo, err := m.apply(f)
	if err != nil {
		return err
	}
	m.log(fmt.Sprintf("start %s", f))
	sleepUntil(ctx, start.Add(f.At+f.For))
	m.log(fmt.Sprintf("end %s", f))
	return undo()
}

// apply starts f and returns what ends it.
func (m *nemesis) apply(f Fault) (func() error, error) {
	net := m.c.Net
	switch f.Kind {
	case Crash:
		m.mu.Lock()
		if m.owner[f.Node] {
			m.mu.Unlock()
			return func() error { return nil }, nil // already down: the other fault restarts it
		}
		m.owner[f.Node] = true
		m.mu.Unlock()
		n := m.c.Nodes[f.Node]
		n.Crash()
		return func() error {
			m.mu.Lock()
			delete(m.owner, f.Node)
			m.mu.Unlock()
			return n.Start()
		}, nil
	case Pause:
		h := hostOf(m.c.Nodes[f.Node].Addr)
		net.Pause(h)
		return func() error { net.Resume(h); return nil }, nil
	case Partition:
		rest := slices.DeleteFunc(slices.Clone(m.hosts), func(h string) bool { return slices.Contains(f.Side, h) })
		net.Cut(f.Side, rest)
		return func() error { net.Uncut(f.Side, rest); return nil }, nil
	case Loss:
		m.setLoss(f.Rate, true)
		return func() error { m.setLoss(f.Rate, false); return nil }, nil
	case ClockJump:
		ck := m.c.Nodes[f.Node].Clock
		ck.Jump(f.Jump)
		return func() error { ck.Jump(-f.Jump); return nil }, nil
	}
	return nil, fmt.Errorf("sim: unknown fault %v", f.Kind)
}

// setLoss adds or removes a loss rate; links drop at the highest in force.
func (m *nemesis) setLoss(rate float64, add bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if add {
		m.loss = append(m.loss, rate)
	} else if i := slices.Index(m.loss, rate); i >= 0 {
		m.loss = slices.Delete(m.loss, i, i+1)
	}
	l := m.base
	for _, r := range m.loss {
		l.Drop = max(l.Drop, r)
	}
	m.c.Net.SetLink(l)
}
