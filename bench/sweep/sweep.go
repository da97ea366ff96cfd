// Package sweep describes a latency-throughput sweep: open-loop steps at
// rising target rates up to saturation, their figures as CSV, and a chart
// (SVG) of latency against achieved throughput.
package sweep

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/shoalkv/shoal/bench/measure"
	"github.com/shoalkv/shoal/bench/runner"
	"github.com/shoalkv/shoal/bench/workload"
)

// SaturationRatio: a step whose achieved throughput is below this fraction
// of its target has saturated the store; the sweep stops after it.
const SaturationRatio = 0.9

// Point is one step of a sweep. Latencies are in microseconds, from each
// operation's intended start, over every operation of the step that
// started. Operations that were due but never started when the step ended
// (Backlog) have no latency and are not in the percentiles, so a step with
// a backlog understates its latency; such a step is usually Saturated.
type Point struct {
	Label      string
	Target     float64
	Throughput float64
	P50        int64
	P95        int64
	P99        int64
	P999       int64
	Errors     int64
	Backlog    int64
}

// Saturated reports whether the store fell behind the step's target.
func (p Point) Saturated() bool { return p.Throughput < SaturationRatio*p.Target }

// PointOf summarises an open-loop result.
func PointOf(label string, res *runner.Result) Point {
	all := measure.NewHistogram()
	var errs int64
	for _, s := range res.Summary.Ops {
		for _, h := range []*measure.Histogram{s.OK, s.Failed} {
			if h != nil {
				all.Merge(h)
			}
		}
		errs += s.Returns[workload.Error]
	}
	return Point{
		Label: label, Target: res.Target, Throughput: res.Throughput(),
		P50: all.PercentileMicros(50), P95: all.PercentileMicros(95), P99: all.PercentileMicros(99),
		P999: all.PercentileMicros(99.9), Errors: errs, Backlog: res.Backlog,
	}
}

// Rates returns the target rates of a sweep: start, start+step, ... for at
// most steps steps.
func Rates(start, step float64, steps int) []float64 {
	out := make([]float64, 0, steps)
	for i := range steps {
		out = append(out, start+float64(i)*step)
	}
	return out
}

// header is the CSV's first row. saturated is derived (Point.Saturated) and
// written for whoever reads the file; oldHeader, without it, is still read.
var (
	header    = []string{"label", "target_ops", "throughput_ops", "p50_us", "p95_us", "p99_us", "p999_us", "errors", "backlog", "saturated"}
	oldHeader = header[:len(header)-1]
)

// WriteCSV writes points with a header row. The backlog column counts the
// operations the percentiles exclude (see Point); saturated is true or false.
func WriteCSV(w io.Writer, points []Point) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, p := range points {
		row := []string{p.Label, ftoa(p.Target), ftoa(p.Throughput)}
		for _, v := range []int64{p.P50, p.P95, p.P99, p.P999, p.Errors, p.Backlog} {
			row = append(row, strconv.FormatInt(v, 10))
		}
		row = append(row, strconv.FormatBool(p.Saturated()))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// ReadCSV reads what WriteCSV wrote.
func ReadCSV(r io.Reader) ([]Point, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	if len(rows) == 0 || !(slices.Equal(rows[0], header) || slices.Equal(rows[0], oldHeader)) {
		return nil, errors.New("sweep: not a sweep CSV (header differs)")
	}
	var out []Point
	for i, row := range rows[1:] {
		p := Point{Label: row[0]}
		var errs []error
		f := func(s string) float64 {
			v, err := strconv.ParseFloat(s, 64)
			errs = append(errs, err)
			return v
		}
		n := func(s string) int64 {
			v, err := strconv.ParseInt(s, 10, 64)
			errs = append(errs, err)
			return v
		}
		p.Target, p.Throughput = f(row[1]), f(row[2])
		p.P50, p.P95, p.P99, p.P999, p.Errors, p.Backlog = n(row[3]), n(row[4]), n(row[5]), n(row[6]), n(row[7]), n(row[8])
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("sweep: row %d: %w", i+2, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Series groups points by label, in order of first appearance.
func Series(points []Point) [][]Point {
	var order []string
	by := map[string][]Point{}
	for _, p := range points {
		if _, ok := by[p.Label]; !ok {
			order = append(order, p.Label)
		}
		by[p.Label] = append(by[p.Label], p)
	}
	out := make([][]Point, len(order))
	for i, l := range order {
		out[i] = by[l]
	}
	return out
}
