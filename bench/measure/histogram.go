// Package measure records operation latencies: an HDR histogram per worker
// and operation (no locks shared between workers on the hot path), merged
// into one summary at the end, plus low-precision interval histograms for
// status lines.
package measure

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision. Latencies are recorded in whole
// microseconds, YCSB's unit.
const (
	// LowestMicros is the smallest distinguishable latency.
	LowestMicros = 1
	// HighestMicros is the largest recordable latency (one hour): an open
	// loop far past saturation queues for as long as it runs. Longer
	// latencies are recorded as this value and counted as clamped.
	HighestMicros = int64(time.Hour / time.Microsecond)
	// SigFigs is the precision of summary histograms: a recorded value is
	// reported within 0.1% (3 significant digits).
	SigFigs = 3
	// intervalSigFigs is the precision of status-line histograms (1%),
	// which are cheaper to merge every few seconds.
	intervalSigFigs = 2
)

// Histogram is a latency histogram. It is not safe for concurrent use: each
// worker owns its own, and merging happens under the owner's lock.
type Histogram struct {
	h       *hdrhistogram.Histogram
	clamped int64
}

// NewHistogram returns an empty summary-precision histogram.
func NewHistogram() *Histogram { return newHistogram(SigFigs) }

func newHistogram(sigFigs int) *Histogram {
	return &Histogram{h: hdrhistogram.New(LowestMicros, HighestMicros, sigFigs)}
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < 0 {
		us = 0
	}
	if us > HighestMicros {
		us = HighestMicros
		h.clamped++
	}
	if err := h.h.RecordValue(us); err != nil {
		panic("measure: " + err.Error()) // the range check above makes this unreachable
	}
}

// Merge adds every value of o.
func (h *Histogram) Merge(o *Histogram) {
	if dropped := h.h.Merge(o.h); dropped != 0 {
		panic("measure: merge dropped values of an equal-range histogram")
	}
	h.clamped += o.clamped
}

// Reset empties the histogram.
func (h *Histogram) Reset() {
	h.h.Reset()
	h.clamped = 0
}

// Count returns the number of recorded latencies.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Clamped returns how many latencies exceeded HighestMicros.
func (h *Histogram) Clamped() int64 { return h.clamped }

// MeanMicros returns the mean latency in microseconds (0 when empty).
func (h *Histogram) MeanMicros() float64 { return h.h.Mean() }

// MinMicros returns the smallest latency (0 when empty).
func (h *Histogram) MinMicros() int64 { return h.h.Min() }

// MaxMicros returns the largest latency, to the histogram's precision (0
// when empty).
func (h *Histogram) MaxMicros() int64 { return h.h.Max() }

// PercentileMicros returns the latency at percentile p (0..100): the
// smallest recorded value such that p% of the values are at or below it,
// reported as the highest value equivalent to it at this precision (so at
// most 0.1% above the true value).
func (h *Histogram) PercentileMicros(p float64) int64 { return h.h.ValueAtPercentile(p) }

// Equivalent reports whether two latencies fall into the same bucket, i.e.
// are equal at the histogram's precision.
func (h *Histogram) Equivalent(aMicros, bMicros int64) bool {
	return h.h.ValuesAreEquivalent(aMicros, bMicros)
}
