// Package report writes benchmark results in YCSB's formats: its text
// summary ("[READ], 99thPercentileLatency(us), 1234"), its JSON array
// exporter's shape, CSV, and its status lines.
package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shoalkv/shoal/bench/measure"
	"github.com/shoalkv/shoal/bench/runner"
	"github.com/shoalkv/shoal/bench/workload"
)

// DefaultPercentiles are the percentiles reported per operation (YCSB's
// hdrhistogram.percentiles defaults to 95,99; the median and 99.9th are
// added because a latency distribution is not read from its tail alone).
var DefaultPercentiles = []float64{50, 95, 99, 99.9}

// Measurement is one line of a YCSB summary: "[Metric], Name, Value".
type Measurement struct {
	Metric string
	Name   string
	Value  float64
	// Integer values print without a fraction.
	Integer bool
}

// FormatValue renders the value as the text and CSV formats do.
func (m Measurement) FormatValue() string {
	if m.Integer {
		return strconv.FormatInt(int64(m.Value), 10)
	}
	return strconv.FormatFloat(m.Value, 'f', 3, 64)
}

// Measurements lists a phase's summary in YCSB's order: [OVERALL], then
// each operation's latency figures and return counts, its failed operations
// ([OP-FAILED]) and, in an open loop, its service times ([OP-SERVICE]). In
// an open loop [OP] latencies run from each operation's intended start, and
// cover only operations that started: [OVERALL], Backlog(ops) counts those
// that were due but never started, which no percentile includes.
func Measurements(res *runner.Result, percentiles []float64) []Measurement {
	ms := []Measurement{
		{Metric: "OVERALL", Name: "RunTime(ms)", Value: float64(res.RunTime.Milliseconds()), Integer: true},
		{Metric: "OVERALL", Name: "Throughput(ops/sec)", Value: res.Throughput()},
	}
	if res.Open() {
		ms = append(ms,
			Measurement{Metric: "OVERALL", Name: "TargetThroughput(ops/sec)", Value: res.Target},
			Measurement{Metric: "OVERALL", Name: "Backlog(ops)", Value: float64(res.Backlog), Integer: true})
	}
	for _, s := range res.Summary.Ops {
		name := s.Op.String()
		ms = appendLatency(ms, name, s.OK, percentiles)
		for st := range workload.Status(workload.NumStatuses) {
			if n := s.Returns[st]; n > 0 || st == workload.OK {
				ms = append(ms, Measurement{Metric: name, Name: "Return=" + st.String(), Value: float64(n), Integer: true})
			}
		}
		if s.Failed != nil && s.Failed.Count() > 0 {
			ms = appendLatency(ms, name+"-FAILED", s.Failed, percentiles)
		}
		if s.Service != nil {
			ms = appendLatency(ms, name+"-SERVICE", s.Service, percentiles)
		}
	}
	return ms
}

func appendLatency(ms []Measurement, metric string, h *measure.Histogram, percentiles []float64) []Measurement {
	if h == nil {
		h = measure.NewHistogram()
	}
	ms = append(ms,
		Measurement{Metric: metric, Name: "Operations", Value: float64(h.Count()), Integer: true},
		Measurement{Metric: metric, Name: "AverageLatency(us)", Value: h.MeanMicros()},
		Measurement{Metric: metric, Name: "MinLatency(us)", Value: float64(h.MinMicros()), Integer: true},
		Measurement{Metric: metric, Name: "MaxLatency(us)", Value: float64(h.MaxMicros()), Integer: true})
	for _, p := range percentiles {
		ms = append(ms, Measurement{Metric: metric, Name: Ordinal(p) + "PercentileLatency(us)",
			Value: float64(h.PercentileMicros(p)), Integer: true})
	}
	if c := h.Clamped(); c > 0 {
		ms = append(ms, Measurement{Metric: metric, Name: "ClampedAtOneHour", Value: float64(c), Integer: true})
	}
	return ms
}

// Ordinal renders a percentile as YCSB labels it: 50th, 95th, 99th, 99.9th,
// 1st, 2nd, 3rd, 11th.
func Ordinal(p float64) string {
	if p != math.Trunc(p) {
		return strconv.FormatFloat(p, 'f', -1, 64) + "th"
	}
	n := int64(p)
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.FormatInt(n, 10) + suffix
}

// ParsePercentiles reads a comma-separated list such as "50,95,99,99.9".
func ParsePercentiles(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := strconv.ParseFloat(f, 64)
		if err != nil || !(p > 0 && p <= 100) {
			return nil, fmt.Errorf("report: percentile %q: want a number in (0, 100]", f)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("report: no percentiles in %q", s)
	}
	return out, nil
}
