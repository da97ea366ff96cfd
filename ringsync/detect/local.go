package detect

import (
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Thresholds are the detector's thresholds in force: the configured ones
// scaled to what it observes (see the package documentation). With
// Config.Fixed they are the configured ones.
type Thresholds struct {
	Slow, Limit, Silence time.Duration
	// Typical is what the nodes' answers typically take (the lower median
	// of their p99-ish bounds; zero until two nodes answered).
	Typical time.Duration
	// Multiplier is the local-health multiplier: 1 while this process and
	// its network look healthy, doubled each time they look at fault, up
	// to 16.
	Multiplier int
}

// How the thresholds scale. The factors leave room over Typical (itself a
// p99-ish bound) for an answer to be late without being wrong: on a quiet
// loopback cluster, Typical is a few milliseconds and the configured
// floors hold; under starvation, answers of 2 s make the limit 8 s or more.
const (
	slowFactor    = 2
	limitFactor   = 4
	silenceFactor = 2
	// maxHealth bounds the local-health exponent: the multiplier is at
	// most 1<<maxHealth (16: a 250ms silence becomes 4s, a 1s limit 16s).
	maxHealth = 4
	// lateTicks: a Tick that comes more than this many periods after the
	// previous one shows that this process did not run for a while.
	lateTicks = 4
)

// Thresholds returns the thresholds in force, as of the last Tick or
// answer.
func (d *Detector[T]) Thresholds() Thresholds { return d.th }

// rescale recomputes the thresholds from the configured floors, Typical
// and the local-health multiplier.
func (d *Detector[T]) rescale() {
	c := d.cfg
	if c.Fixed {
		d.th = Thresholds{Slow: c.Slow, Limit: c.Limit, Silence: c.Silence, Multiplier: 1}
		return
	}
	m := time.Duration(1) << d.health
	d.th = Thresholds{Slow: max(c.Slow, slowFactor*d.ref) * m, Limit: max(c.Limit, limitFactor*d.ref) * m,
		Silence: c.Silence, Typical: d.ref, Multiplier: int(m)}
	if c.Silence > 0 {
		d.th.Silence = max(c.Silence, silenceFactor*d.ref) * m
	}
}

// raise doubles the local-health multiplier (up to its bound): this
// process, or its network, looks at fault, so every threshold doubles.
func (d *Detector[T]) raise() {
	if d.health < maxHealth {
		d.health++
		d.rescale()
	}
}

// calm halves it again; an answer prompt by the latency-scaled threshold
// alone calls it (once Typical has learned a slowdown, the multiplier that
// bridged it is no longer needed), as Lifeguard lowers its multiplier on
// each successful probe.
func (d *Detector[T]) calm() {
	if d.health > 0 {
		d.health--
		d.rescale()
	}
}

// late reports whether the Tick at now comes more than lateTicks periods
// after the previous one, and records now as the last Tick.
func (d *Detector[T]) late(now time.Time) bool {
	prev := d.lastTick
	d.lastTick = now
	return d.cfg.Tick > 0 && !prev.IsZero() && now.Sub(prev) > lateTicks*d.cfg.Tick
}

// heardSince reports whether any node answered after t.
func (d *Detector[T]) heardSince(t time.Time) bool {
	return d.lastAnswer.After(t)
}

// failedTogether is the local-health rule for a Tick whose silence rule
// found the nodes silent: when two or more are silent at once and no node
// answered within the silence, this process or its network is the likely
// cause, not each of those nodes (Lifeguard, "local health"): it holds
// them, and raises the multiplier instead. A node silent while others
// answer is marked down as before.
//
// The hold is one doubling, never more: with no other traffic nothing can
// tell a local fault from nodes that really died together (kill -9 of two
// primaries while one put waits on their replicates), and holding them
// doubling after doubling waited out the caller's deadline instead of
// moving the writes to fallbacks. So it holds only while the multiplier
// is 1; nodes still silent at the doubled silence are marked down. A
// starved process raises the multiplier by its late ticks and by failures
// without answers between them (failedAlone), and operations retry until
// their deadline either way.
func (d *Detector[T]) failedTogether(silent []ring.NodeID, now time.Time) bool {
	if d.cfg.Fixed || len(silent) < 2 || d.health > 0 || d.heardSince(now.Add(-d.th.Silence)) {
		return false
	}
	d.raise()
	return true
}

// failedAlone is called when a Tick marked a node down or ended a call:
// when nothing answered since the previous such Tick either, the timeouts
// are the likelier culprits than the nodes (an answer cut short is never
// measured, so Typical alone cannot grow past them): it raises the
// multiplier, as TCP backs its retransmission timeout off.
func (d *Detector[T]) failedAlone(now time.Time) {
	if !d.cfg.Fixed && !d.lastAnswer.After(d.lastEvent) {
		d.raise()
	}
	d.lastEvent = now
}
