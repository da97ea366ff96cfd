// Package cli is the benchmark command shared by shoal-bench and the etcd
// side-by-side (bench/etcdbench): YCSB-style flags and property files, the
// load and run phases, status lines, summaries and the latency-throughput
// sweep. A command supplies only its Target: how to reach the store.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/bench/workload"
)

// Target is the store a command benchmarks.
type Target interface {
	// Flags registers the target's own flags.
	Flags(fs *pflag.FlagSet)
	// Open reaches the store (starting it first, for an embedded one) for
	// workload w. describe is a one-line account of what was opened, for
	// the run's header; close releases everything Open made and must be
	// called even when the run fails.
	Open(ctx context.Context, w workload.Workload) (db workload.DB, describe string, close func() error, err error)
}

// Reporter is implemented by a DB that has figures of its own to report
// (shoal-bench: how often reads met siblings); Report's line is printed
// after the run.
type Reporter interface {
	Report() string
}

// Command is a benchmark command.
type Command struct {
	// Name is the command's name in messages ("shoal-bench").
	Name string
	// Label names the store in sweep CSVs and charts ("shoal").
	Label  string
	Target Target
	// Intro is the first paragraph of --help.
	Intro          string
	Stdout, Stderr io.Writer
}

// exitInterrupted is the exit code of a run stopped by Ctrl-C (or SIGTERM),
// after its summary: 128+SIGINT, as a shell reports a process SIGINT ended.
const exitInterrupted = 130

// watchInterrupts calls first at the first signal on sigs and second at the
// next, then returns; it returns early when done is closed. second must
// stop delivery to sigs (signal.Stop), so that later signals take their
// default action again instead of being swallowed.
func watchInterrupts(sigs <-chan os.Signal, done <-chan struct{}, first, second func()) {
	for n := 0; ; n++ {
		select {
		case <-done:
			return
		case <-sigs:
		}
		if n == 0 {
			first()
			continue
		}
		second()
		return
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// exitError carries an exit code.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// Main runs the command with args (without the program name) and returns
// its exit code: 0 on success, 1 when the benchmark failed, 2 for bad usage,
// 130 when Ctrl-C (or SIGTERM) stopped the run (its summary is printed).
func (c *Command) Main(args []string) int {
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	// Messages reach stderr from several goroutines (the run, its status
	// reporter, the Ctrl-C watcher): serialise them, on a copy so the
	// caller's Command is left as it was.
	cc := *c
	cc.Stderr = &lockedWriter{w: c.Stderr}
	c = &cc
	var err error
	switch {
	case len(args) > 0 && args[0] == "chart":
		err = c.chart(args[1:])
	case len(args) > 0 && args[0] == "table":
		err = c.table(args[1:])
	default:
		err = c.bench(args)
	}
	var code exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &code):
		return int(code)
	}
	fmt.Fprintf(c.Stderr, "%s: %v\n", c.Name, err)
	return 1
}

// options are the command's own flags (the rest become properties).
type options struct {
	preset      string
	files, sets []string
	valueSize   int
	phase       string
	format, out string
	seed        uint64
	cpuProfile  string
	sweep       sweepOptions
}

func (c *Command) flagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.Name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(c.Stderr)
	fs.StringVar(&o.preset, "workload", "a", "YCSB core workload: a (50% read, 50% update), b (95/5), c (read only), d (read latest, 5% insert), f (read-modify-write); e (scans) is refused. With -P and no --workload, a file starts from YCSB's CoreWorkload defaults, as in YCSB")
	fs.StringArrayVarP(&o.files, "property-file", "P", nil, "YCSB property file, e.g. bench/workloads/workloada or one of YCSB's (repeatable; later files win)")
	fs.StringArrayVarP(&o.sets, "set", "p", nil, "YCSB property as key=value, e.g. -p recordcount=100000 (repeatable; overrides -P)")
	fs.IntVar(&o.valueSize, "value-size", 0, "record size in bytes, as one field (sets fieldcount=1, fieldlength=N; default 10 fields of 100 B)")
	for _, pf := range propFlags {
		switch pf.prop {
		case "threadcount", "recordcount", "operationcount", "fieldcount", "fieldlength":
			fs.Int64(pf.flag, 0, pf.usage)
		case "requestdistribution", "insertorder":
			fs.String(pf.flag, "", pf.usage)
		default:
			fs.Float64(pf.flag, 0, pf.usage)
		}
	}
	fs.Duration("duration", 30*time.Second, "run phase time bound (YCSB's maxexecutiontime); 0 for none")
	fs.Duration("status-interval", 10*time.Second, "time between status lines on stderr; 0 for none")
	fs.StringVar(&o.phase, "phase", "both", "load (insert the records), run (the operation mix over loaded records) or both")
	fs.StringVar(&o.format, "format", "text", "summary format: text (YCSB's), json (YCSB's JSON array) or csv")
	fs.StringVar(&o.out, "out", "", "write the summary to this file (default stdout)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the workers' random choices")
	fs.StringVar(&o.cpuProfile, "cpu-profile", "", "write a CPU profile (go tool pprof) of the run phase to this file: the whole process, an embedded cluster's nodes included")
	o.sweep.flags(fs)
	c.Target.Flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(c.Stderr, "%s\n\nUsage: %s [flags]\n       %s chart [--title T] --out chart.svg sweep.csv...\n       %s table summary.json...\n\nFlags:\n%s",
			c.Intro, c.Name, c.Name, c.Name, fs.FlagUsages())
	}
	return fs
}

// bench runs the load and run phases (or a sweep).
func (c *Command) bench(args []string) error {
	started := time.Now()
	var o options
	fs := c.flagSet(&o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return exitError(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.Stderr, "%s: unexpected arguments %q (see --help)\n", c.Name, fs.Args())
		return exitError(2)
	}
	switch o.phase {
	case "load", "run", "both":
	default:
		fmt.Fprintf(c.Stderr, "%s: --phase %q: want load, run or both\n", c.Name, o.phase)
		return exitError(2)
	}
	s, err := resolve(fs, o.preset, o.files, o.sets, o.valueSize)
	if err != nil {
		if errors.Is(err, workload.ErrScan) {
			fmt.Fprintf(c.Stderr, "%s: %v\n", c.Name, err)
			return exitError(2)
		}
		return err
	}
	if err := o.sweep.validate(); err != nil {
		return err
	}
	for _, w := range s.warnings {
		fmt.Fprintf(c.Stderr, "%s: %s\n", c.Name, w)
	}
	plan, err := workload.NewPlan(s.workload)
	if err != nil {
		return err
	}
	out := c.Stdout
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}

	// The first Ctrl-C stops new operations and prints what ran; the
	// second abandons operations in flight and gives Ctrl-C back to the
	// runtime, so a third one kills the process while the target closes.
	stop, stopIssuing := context.WithCancel(context.Background())
	defer stopIssuing()
	hard, abandon := context.WithCancel(context.Background())
	defer abandon()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go watchInterrupts(sigs, hard.Done(), func() {
		fmt.Fprintf(c.Stderr, "%s: interrupted: stopping, waiting for operations in flight (Ctrl-C again to abandon them)\n", c.Name)
		stopIssuing()
	}, func() {
		fmt.Fprintf(c.Stderr, "%s: abandoning operations in flight (Ctrl-C again to kill the process)\n", c.Name)
		abandon()
		signal.Stop(sigs)
	})

	openCtx, cancelOpen := context.WithTimeout(hard, 2*time.Minute)
	db, describe, closeTarget, err := c.Target.Open(openCtx, s.workload)
	cancelOpen()
	if err != nil {
		return err
	}
	defer func() {
		if err := closeTarget(); err != nil {
			fmt.Fprintf(c.Stderr, "%s: closing the target: %v\n", c.Name, err)
		}
	}()
	fmt.Fprintf(c.Stderr, "%s: %s\n%s: target: %s\n%s: %s\n", c.Name, s.workload.Describe(), c.Name, describe, c.Name, c.loopDescription(s, o))

	ph := phases{c: c, s: s, o: o, plan: plan, db: db, stop: stop, hard: hard, out: out}
	err = ph.run()
	if stop.Err() != nil {
		// Interrupted: the summary of what ran is out; exit as a shell
		// reports a process ended by SIGINT, so scripts can tell.
		if err != nil {
			fmt.Fprintf(c.Stderr, "%s: %v\n", c.Name, err)
		}
		err = exitError(exitInterrupted)
	}
	if r, ok := db.(Reporter); ok {
		fmt.Fprintf(c.Stderr, "%s: %s\n", c.Name, r.Report())
	}
	if user, sys, ok := processCPU(); ok {
		// The client shares the machine with the store: say what it took.
		fmt.Fprintf(c.Stderr, "%s: this process used %.1f s user + %.1f s system CPU in %.1f s\n",
			c.Name, user.Seconds(), sys.Seconds(), time.Since(started).Seconds())
	}
	return err
}

func (c *Command) loopDescription(s settings, o options) string {
	var parts []string
	switch {
	case o.sweep.enabled:
		parts = append(parts, fmt.Sprintf("sweep: open loop from %g ops/s in steps of %g, %v each, %d threads", o.sweep.start, o.sweep.step, o.sweep.stepTime, s.threads))
	case s.target > 0:
		parts = append(parts, fmt.Sprintf("open loop at %g ops/s, at most %d in flight", s.target, s.threads))
	default:
		parts = append(parts, fmt.Sprintf("closed loop, %d threads", s.threads))
	}
	if !o.sweep.enabled {
		if s.workload.OperationCount > 0 {
			parts = append(parts, fmt.Sprintf("%d operations", s.workload.OperationCount))
		}
		if s.duration > 0 {
			parts = append(parts, fmt.Sprintf("at most %v", s.duration))
		}
	}
	parts = append(parts, "phase "+o.phase)
	return strings.Join(parts, ", ")
}
