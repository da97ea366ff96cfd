package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/bench/report"
	"github.com/shoalkv/shoal/bench/sweep"
	"github.com/shoalkv/shoal/bench/workload"
)

// chart draws sweep CSVs (of one store or several) into one SVG.
func (c *Command) chart(args []string) error {
	fs := pflag.NewFlagSet(c.Name+" chart", pflag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	title := fs.String("title", "latency against throughput", "chart title")
	out := fs.String("out", "", "SVG file to write (required)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *out == "" || fs.NArg() == 0 {
		fmt.Fprintf(c.Stderr, "Usage: %s chart [--title T] --out chart.svg sweep.csv...\n", c.Name)
		return exitError(2)
	}
	var points []sweep.Point
	for _, path := range fs.Args() {
		pts, err := readFile(path, sweep.ReadCSV)
		if err != nil {
			return err
		}
		points = append(points, pts...)
	}
	return writeFile(*out, func(f *os.File) error { return sweep.WriteSVG(f, *title, sweep.Series(points)) })
}

// table prints JSON summaries (from --format json) as one Markdown table, a
// row per run and operation, named by file.
func (c *Command) table(args []string) error {
	fs := pflag.NewFlagSet(c.Name+" table", pflag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(c.Stderr, "Usage: %s table summary.json...\n", c.Name)
		return exitError(2)
	}
	fmt.Fprintln(c.Stdout, "| run | ops/s | operation | operations | p50 ms | p95 ms | p99 ms | p99.9 ms | errors |")
	fmt.Fprintln(c.Stdout, "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, path := range fs.Args() {
		ms, err := readFile(path, report.ReadJSON)
		if err != nil {
			return err
		}
		rows, err := tableRows(strings.TrimSuffix(filepath.Base(path), ".json"), ms)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, r := range rows {
			fmt.Fprintln(c.Stdout, r)
		}
	}
	return nil
}

// tableRows renders one summary's operations as table rows.
func tableRows(name string, ms []report.Measurement) ([]string, error) {
	get := func(metric, m string) (float64, bool) {
		for _, x := range ms {
			if x.Metric == metric && x.Name == m {
				return x.Value, true
			}
		}
		return 0, false
	}
	tput, ok := get("OVERALL", "Throughput(ops/sec)")
	if !ok {
		return nil, errors.New("no [OVERALL] throughput: not a summary")
	}
	var rows []string
	tputCell := fmt.Sprintf("%.0f", tput)
	for _, op := range workload.Ops {
		metric := op.String()
		n, ok := get(metric, "Operations")
		if !ok {
			continue
		}
		cells := []string{name, tputCell, metric, fmt.Sprintf("%.0f", n)}
		for _, p := range []float64{50, 95, 99, 99.9} {
			v, ok := get(metric, report.Ordinal(p)+"PercentileLatency(us)")
			if ok {
				cells = append(cells, fmt.Sprintf("%.2f", v/1000))
			} else {
				cells = append(cells, "-")
			}
		}
		errs, _ := get(metric, "Return=ERROR")
		cells = append(cells, fmt.Sprintf("%.0f", errs))
		rows = append(rows, "| "+strings.Join(cells, " | ")+" |")
		name, tputCell = "", "" // the run's name and throughput on its first row only
	}
	return rows, nil
}

// readFile parses the file at path with parse, naming the file in errors.
func readFile[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	v, err := parse(f)
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
