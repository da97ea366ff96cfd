// Package detect is a failure detector driven by a process's own traffic
// (paper §4.8.3: "node A may consider node B failed if node B does not
// respond to node A's messages"), shaped like Voldemort's threshold and
// asynchronous-recovery detectors:
//
//   - A transport failure (unreachable, connection broken, no answer before
//     the deadline) marks the node down at once.
//   - An answer slower than the slow threshold is a soft failure;
//     Config.SlowLimit of them in a row mark the node down too. Any prompt
//     answer clears them.
//   - A node that answers nothing for the silence while calls to it are
//     outstanding is marked down, and those calls are to be ended so their
//     callers move on (a killed process sends no goodbye).
//   - A call outstanding for the limit is to be ended (its caller then
//     reports the failure).
//   - Only Recovered (a successful probe) brings a node marked down back.
//
// Slowness is not failure. The thresholds (Thresholds) are the configured
// ones (Config.Slow, Limit, Silence) as floors, scaled in two ways unless
// Config.Fixed:
//
//   - By measured latency: each node's answer times are smoothed as TCP
//     smooths round trips, and Typical, the lower median of the nodes'
//     p99-ish bounds, sets the thresholds' least values (2x for slow and
//     silence, 4x for the limit). One slow node among fast ones does not
//     move the median, and is marked down as before; a slowdown of most of
//     them raises every threshold with it.
//   - By local health (Lifeguard, Dadgar et al. 2018): when the evidence
//     points at this process or its network rather than at the nodes, a
//     multiplier doubles every threshold, up to 16x, and each answer
//     prompt by the latency-scaled thresholds alone halves it again. The
//     evidence: two or more nodes silent at once with no answer from anyone
//     within the silence (they are held, not marked down); a Tick far later than its period (this process was not
//     scheduled: the rules skip that Tick, as the answers may be waiting
//     unread); a node marked down or a call ended with nothing answered
//     since the previous such Tick.
//
// It is pure: every input carries the time, it starts no goroutine, reads
// no clock and takes no lock. A Detector is not safe for concurrent use;
// the shell (the driver's health) serialises calls. A call carries a token
// of the shell's (what ends it: a context's cancel function), which Tick
// hands back, once, when the call is to be ended.
package detect

import (
	"fmt"
	"slices"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Config sets the detector's thresholds, the least values of those in
// force (see the package documentation). A zero or negative Silence turns
// the silence rule off; a zero SlowLimit means 3.
type Config struct {
	Slow      time.Duration // answers slower than this are soft failures
	SlowLimit int           // that many in a row mark the node down
	Limit     time.Duration // a call outstanding this long is ended
	Silence   time.Duration // see the package documentation
	// Tick is the period at which the shell calls Tick; zero turns the
	// late-Tick rule off.
	Tick time.Duration
	// Fixed keeps the thresholds at the configured values: no scaling by
	// latency or local health (the detector before it adapted; for
	// comparison).
	Fixed bool
}

// Outcome is what a finished call tells of its node.
type Outcome int

const (
	HeardNothing Outcome = iota // nothing (the caller ended it early, or the silence rule did)
	HeardAnswer                 // the node answered, in took
	HeardFailure                // a transport failure, or no answer in time
)

// Detector is the failure detector's state. Create it with New.
type Detector[T any] struct {
	cfg   Config
	nodes map[ring.NodeID]*record // absent: up with a clean history
	heard map[ring.NodeID]time.Time
	calls map[ring.NodeID]map[*Call[T]]struct{}

	// Adaptation (local.go, latency.go).
	lat        map[ring.NodeID]*estimate
	ref        time.Duration // typical(lat) as of the last Tick
	health     int           // the local-health exponent, 0..maxHealth
	th         Thresholds
	lastAnswer time.Time // the last answer from any node
	lastEvent  time.Time // the last Tick that marked a node down or ended a call
	lastTick   time.Time
}

// record is one node's history.
type record struct {
	down      bool
	since     time.Time // when down was last set
	failures  int       // consecutive transport failures
	slowCount int       // consecutive slow answers
	lastErr   string
}

// Call is one call on its way to a node, registered by Begin.
type Call[T any] struct {
	node  ring.NodeID
	sent  time.Time
	token T
	told  bool // handed back by Tick already
}

// New returns a detector with no history.
func New[T any](cfg Config) *Detector[T] {
	if cfg.SlowLimit == 0 {
		cfg.SlowLimit = 3
	}
	d := &Detector[T]{cfg: cfg, nodes: make(map[ring.NodeID]*record), heard: make(map[ring.NodeID]time.Time),
		calls: make(map[ring.NodeID]map[*Call[T]]struct{}), lat: make(map[ring.NodeID]*estimate)}
	d.rescale()
	return d
}

func (d *Detector[T]) rec(id ring.NodeID) *record {
	n := d.nodes[id]
	if n == nil {
		n = &record{}
		d.nodes[id] = n
	}
	return n
}

// Begin registers a call to id sent at now, ended by token; End must
// follow when it finishes.
func (d *Detector[T]) Begin(id ring.NodeID, now time.Time, token T) *Call[T] {
	c := &Call[T]{node: id, sent: now, token: token}
	m := d.calls[id]
	if m == nil {
		m = make(map[*Call[T]]struct{})
		d.calls[id] = m
	}
	m[c] = struct{}{}
	return c
}

// End unregisters c and records its outcome: an answer that took took
// (Answered), a failure err (Failed), or nothing.
func (d *Detector[T]) End(c *Call[T], o Outcome, took time.Duration, err error, now time.Time) {
	switch o {
	case HeardAnswer:
		d.Answered(c.node, took, now)
	case HeardFailure:
		d.Failed(c.node, err, now)
	}
	m := d.calls[c.node]
	delete(m, c)
	if len(m) == 0 {
		delete(d.calls, c.node)
	}
}

// Answered records an answer (a success or an error answer: either way the
// node is alive) that took took.
func (d *Detector[T]) Answered(id ring.NodeID, took time.Duration, now time.Time) {
	d.heard[id] = now
	d.lastAnswer = now
	if !d.cfg.Fixed {
		e := d.lat[id]
		if e == nil {
			e = &estimate{}
			d.lat[id] = e
		}
		e.add(took)
		if took < max(d.cfg.Slow, slowFactor*d.ref) {
			d.calm() // prompt even without the multiplier
		}
	}
	if took < d.th.Slow {
		if n := d.nodes[id]; n != nil && !n.down {
			delete(d.nodes, id)
		}
		return
	}
	n := d.rec(id)
	n.slowCount++
	if n.slowCount >= d.cfg.SlowLimit && !n.down {
		n.down, n.since = true, now
		n.lastErr = "slow answers"
	}
}

// Failed records a transport failure: the node is down from now on until
// Recovered.
func (d *Detector[T]) Failed(id ring.NodeID, err error, now time.Time) {
	n := d.rec(id)
	n.failures++
	if err != nil {
		n.lastErr = err.Error()
	}
	if !n.down {
		n.down, n.since = true, now
	}
}

// Tick applies the time rules at now, with the thresholds in force (see
// Thresholds, which it recomputes first). It returns the tokens of the
// calls outstanding for the limit or longer (expired: the shell ends them,
// and their callers record the failure), and, under the silence rule, the
// nodes that have answered nothing for the silence while a call sent at
// least that long ago is outstanding (marked down now, sorted) with the
// tokens of their other calls in flight (silenced). Each call's token is
// handed back at most once. A Tick that comes late (Config.Tick) applies
// no rule.
func (d *Detector[T]) Tick(now time.Time) (expired []T, down []ring.NodeID, silenced []T) {
	if d.late(now) && !d.cfg.Fixed {
		d.raise()
		return nil, nil, nil
	}
	if !d.cfg.Fixed {
		d.ref = typical(d.lat)
		d.rescale()
	}
	th := d.th
	var silent []ring.NodeID
	for id, m := range d.calls {
		oldest, live := now, false
		for c := range m {
			if c.told {
				continue
			}
			live = true
			if now.Sub(c.sent) >= th.Limit {
				expired = append(expired, c.token)
				c.told = true
			}
			if c.sent.Before(oldest) {
				oldest = c.sent
			}
		}
		if live && th.Silence > 0 && now.Sub(d.heard[id]) >= th.Silence && now.Sub(oldest) >= th.Silence {
			silent = append(silent, id)
		}
	}
	slices.Sort(silent)
	if d.failedTogether(silent, now) {
		silent = nil
	}
	for _, id := range silent {
		silenced = d.silence(id, now, silenced)
	}
	if len(silent) > 0 || len(expired) > 0 {
		d.failedAlone(now)
	}
	return expired, silent, silenced
}

// silence marks id down under the silence rule at now, and appends the
// tokens of its calls not yet handed back to silenced.
func (d *Detector[T]) silence(id ring.NodeID, now time.Time, silenced []T) []T {
	m := d.calls[id]
	since := now
	for c := range m {
		if c.sent.Before(since) {
			since = c.sent
		}
		if !c.told {
			silenced = append(silenced, c.token)
			c.told = true
		}
	}
	if d.heard[id].After(since) {
		since = d.heard[id]
	}
	n := d.rec(id)
	n.failures++
	n.lastErr = fmt.Sprintf("no answer at all for %v with %d requests outstanding", now.Sub(since).Round(time.Millisecond), len(m))
	if !n.down {
		n.down, n.since = true, now
	}
	return silenced
}

// Recovered records a successful probe: the node is up with a clean
// record, and the probe's answer counts as hearing from it.
func (d *Detector[T]) Recovered(id ring.NodeID, now time.Time) {
	delete(d.nodes, id)
	d.heard[id] = now
}

// Up reports whether the node is believed up.
func (d *Detector[T]) Up(id ring.NodeID) bool {
	n := d.nodes[id]
	return n == nil || !n.down
}

// Down returns the ids believed down, sorted.
func (d *Detector[T]) Down() []ring.NodeID {
	var out []ring.NodeID
	for id, n := range d.nodes {
		if n.down {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Belief is the detector's view of one node.
type Belief struct {
	Up bool
	// Since is when the node was marked down (zero when up).
	Since time.Time
	// Failures counts consecutive transport failures; Slow consecutive slow
	// answers.
	Failures, Slow int
	// LastError describes the failure that marked it down.
	LastError string
}

// Belief returns what the detector believes of node id.
func (d *Detector[T]) Belief(id ring.NodeID) Belief {
	n := d.nodes[id]
	if n == nil {
		return Belief{Up: true}
	}
	b := Belief{Up: !n.down, Failures: n.failures, Slow: n.slowCount, LastError: n.lastErr}
	if n.down {
		b.Since = n.since
	}
	return b
}
