package handoff

import (
	"slices"
	"time"

	"github.com/shoalkv/shoal/storaged/hint"
)

// DefaultConcurrency is how many transfers a node receives at once by
// default: riak_core's handoff_concurrency.
const DefaultConcurrency = 2

// MaxConcurrency bounds ManagerConfig.Concurrency.
const MaxConcurrency = 64

// ManagerConfig configures a Manager. The zero value means the defaults.
type ManagerConfig struct {
	// Concurrency is how many transfers run at once (default
	// DefaultConcurrency, at most MaxConcurrency).
	Concurrency int
}

// Validate reports a field out of range, wrapping ErrInvalid.
func (c ManagerConfig) Validate() error {
	if c.Concurrency < 0 || c.Concurrency > MaxConcurrency {
		return invalidf("concurrency %d outside 1..%d", c.Concurrency, MaxConcurrency)
	}
	return nil
}

// Phase is where a transfer stands in a Manager.
type Phase uint8

// Phases.
const (
	Queued  Phase = iota // waiting for a slot (or its back-off)
	Running              // holds a slot
	Done                 // ended with the range all here and the exchange run
	Dropped              // refused for good: its plan is outdated
)

var phaseNames = [...]string{"queued", "running", "done", "dropped"}

func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return "phase?"
}

// Manager schedules one node's inbound transfers: a queue of planned
// transfers, at most Concurrency running, a back-off for those that failed
// (hint.Backoff of their consecutive failures), and their progress for
// status. Its shell calls Plan when the ring's plan changes, Start when a
// slot frees or Wake comes, runs a Transfer for each id Start returns,
// reports its Stats to Progress and its end to Finish. Every Finish frees
// the slot, whatever the outcome, so no slot outlives its transfer.
//
// The queue is ordered by when a transfer was first planned, then by ID
// within one Plan call: deterministic, whatever the order of the plan.
type Manager struct {
	cfg     ManagerConfig
	entries []*entry // in queue order
	running int
}

type entry struct {
	st        Status
	past      Stats // the ended runs'
	notBefore time.Time
}

// Status is one transfer's standing, for `shoal status` and
// `shoal cluster transfers`.
type Status struct {
	ID       ID
	Phase    Phase
	Failures int       // consecutive failed runs
	Retry    time.Time // queued after a failure: not started before
	Err      error     // the last run's error, nil if none
	// Stats sum the runs so far: the ended ones and the running one's
	// latest Progress.
	Stats Stats
}

// NewManager returns an empty Manager.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	return &Manager{cfg: cfg}, nil
}

// Plan sets the transfers wanted now: those new are queued, those not
// wanted any more are forgotten. It returns the running ones no longer
// wanted, sorted: the shell stops them (their slots are free at once, and a
// later Finish of them is ignored).
func (m *Manager) Plan(want []ID) (stop []ID) {
	want = slices.Clone(want)
	slices.SortFunc(want, ID.Compare)
	want = slices.Compact(want)
	kept := m.entries[:0]
	for _, e := range m.entries {
		if _, ok := slices.BinarySearchFunc(want, e.st.ID, ID.Compare); ok {
			kept = append(kept, e)
			continue
		}
		if e.st.Phase == Running {
			m.running--
			stop = append(stop, e.st.ID)
		}
	}
	clear(m.entries[len(kept):])
	m.entries = kept
	for _, id := range want {
		if m.find(id) == nil {
			m.entries = append(m.entries, &entry{st: Status{ID: id}})
		}
	}
	slices.SortFunc(stop, ID.Compare)
	return stop
}

func (m *Manager) find(id ID) *entry {
	for _, e := range m.entries {
		if e.st.ID == id {
			return e
		}
	}
	return nil
}

// Start returns the queued transfers to start at now, in queue order, as
// many as there are free slots, skipping those backing off; they are
// running from now.
func (m *Manager) Start(now time.Time) []ID {
	var ids []ID
	for _, e := range m.entries {
		if m.running >= m.cfg.Concurrency {
			break
		}
		if e.st.Phase == Queued && !now.Before(e.notBefore) {
			e.st.Phase = Running
			m.running++
			ids = append(ids, e.st.ID)
		}
	}
	return ids
}

// Wake returns when Start may next return something because a back-off
// ends, zero when no slot is free or none is backing off.
func (m *Manager) Wake() time.Time {
	var at time.Time
	if m.running >= m.cfg.Concurrency {
		return at
	}
	for _, e := range m.entries {
		if e.st.Phase == Queued && !e.notBefore.IsZero() && (at.IsZero() || e.notBefore.Before(at)) {
			at = e.notBefore
		}
	}
	return at
}

// Progress records the running transfer id's Stats (Ready.Stats) so far.
// It is ignored for a transfer not running.
func (m *Manager) Progress(id ID, s Stats) {
	if e := m.find(id); e != nil && e.st.Phase == Running {
		e.st.Stats = e.past.Add(s)
	}
}

// Finish records the end at now of the running transfer id (Ready.Err),
// with its last Stats, and frees its slot: err nil makes it Done, a final
// refusal (Final) Dropped; any other error queues it again after
// hint.Backoff of its consecutive failures, to resume from its durable
// cursor. It is ignored for a transfer not running (stopped by Plan).
func (m *Manager) Finish(now time.Time, id ID, s Stats, err error) {
	e := m.find(id)
	if e == nil || e.st.Phase != Running {
		return
	}
	m.running--
	e.past = e.past.Add(s)
	e.st.Stats = e.past
	e.st.Err = err
	switch {
	case err == nil:
		e.st.Phase, e.st.Failures, e.notBefore = Done, 0, time.Time{}
	case Final(err):
		e.st.Phase = Dropped
	default:
		e.st.Phase = Queued
		e.st.Failures++
		e.notBefore = now.Add(hint.Backoff(e.st.Failures))
	}
	e.st.Retry = e.notBefore
}

// Running returns how many transfers hold a slot.
func (m *Manager) Running() int { return m.running }

// Status returns every planned transfer's standing, sorted by ID.
func (m *Manager) Status() []Status {
	out := make([]Status, len(m.entries))
	for i, e := range m.entries {
		out[i] = e.st
	}
	slices.SortFunc(out, func(a, b Status) int { return a.ID.Compare(b.ID) })
	return out
}

// Totals sums the Stats of every planned transfer.
func (m *Manager) Totals() Stats {
	var t Stats
	for _, e := range m.entries {
		t = t.Add(e.st.Stats)
	}
	return t
}
