package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/bench/runner"
	"github.com/shoalkv/shoal/bench/sweep"
)

// sweepOptions configure a latency-throughput sweep.
type sweepOptions struct {
	enabled     bool
	start, step float64
	steps       int
	stepTime    time.Duration
	csv, svg    string
	label       string
	title       string
}

func (o *sweepOptions) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.enabled, "sweep", false, "instead of one run, step an open-loop target rate up until the store saturates (achieves < 90% of the target)")
	fs.Float64Var(&o.start, "sweep-start", 500, "first target rate of the sweep (ops/s)")
	fs.Float64Var(&o.step, "sweep-step", 500, "rate added at each step (ops/s)")
	fs.IntVar(&o.steps, "sweep-steps", 12, "most steps")
	fs.DurationVar(&o.stepTime, "sweep-step-time", 15*time.Second, "length of each step")
	fs.StringVar(&o.csv, "sweep-csv", "", "write the sweep's points to this CSV file")
	fs.StringVar(&o.svg, "sweep-svg", "", "write a latency-throughput chart of the sweep to this SVG file")
	fs.StringVar(&o.label, "label", "", "name of this store in sweep CSVs and charts (default: the command's)")
	fs.StringVar(&o.title, "sweep-title", "", "chart title")
}

func (o *sweepOptions) validate() error {
	if !o.enabled {
		return nil
	}
	var errs []error
	if !(o.start > 0) || o.step < 0 || o.steps < 1 || o.stepTime <= 0 {
		errs = append(errs, fmt.Errorf("sweep: want --sweep-start > 0, --sweep-step >= 0, --sweep-steps >= 1 and --sweep-step-time > 0"))
	}
	return errors.Join(errs...)
}

// sweep runs open-loop steps at rising rates until one saturates, the
// steps run out or Ctrl-C, then writes the points.
func (p *phases) sweep() error {
	o := p.o.sweep
	label := o.label
	if label == "" {
		label = p.c.Label
	}
	var points []sweep.Point
	for _, rate := range sweep.Rates(o.start, o.step, o.steps) {
		if p.stop.Err() != nil {
			break
		}
		fmt.Fprintf(p.c.Stderr, "%s: sweep step: %g ops/s for %v\n", p.c.Name, rate, o.stepTime)
		res, err := runner.Run(p.stop, p.db, runner.Transactions(p.plan), p.config(rate, 0, o.stepTime))
		if err != nil {
			return err
		}
		if res.Interrupted {
			break // a cut-short step would misplace its point
		}
		pt := sweep.PointOf(label, res)
		points = append(points, pt)
		fmt.Fprintf(p.c.Stderr, "%s: target %g ops/s: achieved %.0f ops/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, %d errors, backlog %d\n",
			p.c.Name, rate, pt.Throughput, ms(pt.P50), ms(pt.P99), ms(pt.P999), pt.Errors, pt.Backlog)
		if pt.Backlog > 0 {
			fmt.Fprintf(p.c.Stderr, "%s: percentiles exclude %d operations that were due but never started (backlog)\n", p.c.Name, pt.Backlog)
		}
		if pt.Saturated() {
			fmt.Fprintf(p.c.Stderr, "%s: saturated: achieved %.0f%% of the target\n", p.c.Name, 100*pt.Throughput/pt.Target)
			break
		}
	}
	if len(points) == 0 {
		return errors.New("sweep: no step completed")
	}
	if err := sweep.WriteCSV(p.out, points); err != nil {
		return err
	}
	if o.csv != "" {
		if err := writeFile(o.csv, func(f *os.File) error { return sweep.WriteCSV(f, points) }); err != nil {
			return err
		}
	}
	if o.svg != "" {
		title := o.title
		if title == "" {
			title = fmt.Sprintf("%s: %s", label, p.s.workload.Describe())
		}
		if err := writeFile(o.svg, func(f *os.File) error { return sweep.WriteSVG(f, title, sweep.Series(points)) }); err != nil {
			return err
		}
	}
	return nil
}

func ms(us int64) float64 { return float64(us) / 1000 }

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
