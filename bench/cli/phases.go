package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shoalkv/shoal/bench/report"
	"github.com/shoalkv/shoal/bench/runner"
	"github.com/shoalkv/shoal/bench/workload"
)

// phases runs what the options ask for against an open target.
type phases struct {
	c    *Command
	s    settings
	o    options
	plan *workload.Plan
	db   workload.DB
	stop context.Context // ends issuing (first Ctrl-C)
	hard context.Context // ends operations in flight (second Ctrl-C)
	out  io.Writer
}

func (p *phases) run() (err error) {
	if p.o.phase != "run" {
		res, err := p.load()
		if err != nil {
			return err
		}
		if p.o.phase == "load" || res.Interrupted {
			return p.summary(res)
		}
	}
	if p.o.cpuProfile != "" {
		stop, perr := startCPUProfile(p.o.cpuProfile)
		if perr != nil {
			return perr
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	if p.o.sweep.enabled {
		return p.sweep()
	}
	res, err := runner.Run(p.stop, p.db, runner.Transactions(p.plan), p.config(p.s.target, p.s.workload.OperationCount, p.s.duration))
	if err != nil {
		return err
	}
	return p.summary(res)
}

// config is the runner configuration of one phase.
func (p *phases) config(target float64, ops int64, d time.Duration) runner.Config {
	return runner.Config{
		Threads: p.s.threads, Target: target, Operations: ops, Duration: d,
		StatusInterval: p.s.status, OnStatus: p.status, OpContext: p.hard, Seed: p.o.seed,
	}
}

func (p *phases) status(st runner.Status) {
	fmt.Fprintln(p.c.Stderr, report.StatusLine(time.Now(), st))
}

// load inserts the records, in a closed loop (a --target applies to the run
// phase only).
func (p *phases) load() (*runner.Result, error) {
	fmt.Fprintf(p.c.Stderr, "%s: loading %d records\n", p.c.Name, p.plan.LoadCount())
	res, err := runner.Run(p.stop, p.db, runner.Load(p.plan), p.config(0, p.plan.LoadCount(), 0))
	if err != nil {
		return nil, err
	}
	ins := res.Summary.Get(workload.Insert)
	var failed int64
	p99 := "-"
	if ins != nil {
		failed = ins.Returns[workload.Error]
		if ins.OK != nil {
			p99 = fmt.Sprintf("%.1f ms", float64(ins.OK.PercentileMicros(99))/1000)
		}
	}
	fmt.Fprintf(p.c.Stderr, "%s: load: %d inserts in %.1f s (%.0f ops/s, p99 %s), %d failed\n",
		p.c.Name, res.Summary.Count(), res.RunTime.Seconds(), res.Throughput(), p99, failed)
	if failed > 0 && failed == res.Summary.Count() {
		return nil, fmt.Errorf("every insert of the load phase failed")
	}
	return res, nil
}

// summary writes a phase's summary in the chosen format.
func (p *phases) summary(res *runner.Result) error {
	if res.Interrupted {
		fmt.Fprintf(p.c.Stderr, "%s: interrupted after %.1f s: the summary covers what ran\n", p.c.Name, res.RunTime.Seconds())
	}
	if res.Open() && res.Backlog > 0 {
		fmt.Fprintf(p.c.Stderr, "%s: the store fell behind the target: percentiles exclude %d operations that were due but never started (backlog), so they understate latency at this rate\n", p.c.Name, res.Backlog)
	}
	if err := report.Write(p.out, p.o.format, report.Measurements(res, p.s.percentiles)); err != nil {
		return err
	}
	var ok int64
	for _, s := range res.Summary.Ops {
		ok += s.Returns[workload.OK] + s.Returns[workload.NotFound]
	}
	if res.Summary.Count() > 0 && ok == 0 {
		return fmt.Errorf("every operation failed")
	}
	return nil
}
