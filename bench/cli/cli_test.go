package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/bench/sweep"
	"github.com/shoalkv/shoal/bench/workload"
)

// memTarget is an in-memory store with an optional delay per operation.
type memTarget struct {
	delay  time.Duration
	onOpen func() // called once the target is open, if set
	opened workload.Workload
	closed bool
	mu     sync.Mutex
	data   map[string][]byte
}

func (m *memTarget) Flags(fs *pflag.FlagSet) {
	fs.DurationVar(&m.delay, "delay", 0, "per-operation delay")
}

func (m *memTarget) Open(_ context.Context, w workload.Workload) (workload.DB, string, func() error, error) {
	m.opened, m.data = w, map[string][]byte{}
	if m.onOpen != nil {
		m.onOpen()
	}
	return m, "memory", func() error { m.closed = true; return nil }, nil
}

func (m *memTarget) op() { time.Sleep(m.delay) }

func (m *memTarget) Read(_ context.Context, k []byte) error {
	m.op()
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data[string(k)]; !ok {
		return workload.ErrNotFound
	}
	return nil
}
func (m *memTarget) Update(_ context.Context, k, v []byte) error {
	return m.Insert(context.Background(), k, v)
}
func (m *memTarget) Insert(_ context.Context, k, v []byte) error {
	m.op()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[string(k)] = v
	return nil
}
func (m *memTarget) ReadModifyWrite(_ context.Context, k []byte, f func([]byte) []byte) error {
	m.op()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[string(k)] = f(m.data[string(k)])
	return nil
}

func run(t *testing.T, tg *memTarget, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &Command{Name: "bench", Label: "mem", Target: tg, Intro: "test", Stdout: &out, Stderr: &errb}
	code = c.Main(args)
	return code, out.String(), errb.String()
}

func TestRunPrintsYCSBSummary(t *testing.T) {
	tg := &memTarget{}
	code, out, errs := run(t, tg, "--recordcount", "300", "--operationcount", "1000", "--threads", "4", "--status-interval", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"[OVERALL], RunTime(ms), ", "[OVERALL], Throughput(ops/sec), ", "[READ], Return=OK, ", "[UPDATE], 99.9thPercentileLatency(us), "} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "load: 300 inserts") || !tg.closed || len(tg.data) != 300 {
		t.Errorf("load: stderr %q, closed %v, %d records", errs, tg.closed, len(tg.data))
	}
	if tg.opened.ReadProportion != 0.5 || tg.opened.Distribution != workload.Zipfian {
		t.Errorf("default workload is not A: %+v", tg.opened)
	}
}

func TestWorkloadERefused(t *testing.T) {
	tg := &memTarget{}
	code, _, errs := run(t, tg, "--workload", "e")
	if code != 2 || !strings.Contains(errs, "scans are not supported") || !strings.Contains(errs, "Dynamo") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if tg.data != nil {
		t.Error("the target was opened for a refused workload")
	}
}

// TestPropertyLayers: defaults < --workload < -P files < -p < flags.
func TestPropertyLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "workloadx")
	os.WriteFile(file, []byte("# like YCSB's files\nrecordcount=50\noperationcount=70\nreadproportion=0.2\nupdateproportion=0.8\nrequestdistribution=uniform\nfieldcount=4\nfoo.bar=1\n"), 0o644)
	tg := &memTarget{}
	code, out, errs := run(t, tg, "-P", file, "-p", "operationcount=90", "-p", "fieldlength=10",
		"--recordcount", "60", "--threads", "1", "--status-interval", "0", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	w := tg.opened
	if w.RecordCount != 60 || w.OperationCount != 90 || w.ReadProportion != 0.2 || w.Distribution != workload.Uniform || w.ValueSize() != 40 {
		t.Errorf("layers resolved to %+v", w)
	}
	if !strings.Contains(errs, "ignoring property foo.bar") {
		t.Errorf("unknown property not reported: %s", errs)
	}
	if !strings.HasPrefix(out, "metric,measurement,value\n") || !strings.Contains(out, "OVERALL,RunTime(ms),") {
		t.Errorf("not CSV:\n%s", out)
	}
	if strings.Count(out, "READ,Return=OK,") != 1 {
		t.Errorf("CSV lacks the read returns:\n%s", out)
	}
}

// TestPartialPropertyFile: what a -P file leaves out takes YCSB's
// CoreWorkload default, not workload A's (the default --workload), unless
// --workload is given explicitly.
func TestPartialPropertyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "partial")
	os.WriteFile(file, []byte("readproportion=0.9\ninsertproportion=0.1\n"), 0o644)
	common := []string{"-P", file, "--recordcount", "20", "--operationcount", "10", "--threads", "1", "--status-interval", "0"}
	tg := &memTarget{}
	if code, _, errs := run(t, tg, common...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	w := tg.opened
	if w.ReadProportion != 0.9 || w.UpdateProportion != 0.05 || w.InsertProportion != 0.1 ||
		w.ReadModifyWriteProportion != 0 || w.Distribution != workload.Uniform {
		t.Errorf("partial file resolved to read %v update %v insert %v rmw %v %s; want YCSB's defaults for the rest (update 0.05, rmw 0, uniform)",
			w.ReadProportion, w.UpdateProportion, w.InsertProportion, w.ReadModifyWriteProportion, w.Distribution)
	}
	tg = &memTarget{}
	if code, _, errs := run(t, tg, append([]string{"--workload", "b"}, common...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if w := tg.opened; w.ReadProportion != 0.9 || w.UpdateProportion != 0.05 || w.Distribution != workload.Zipfian {
		t.Errorf("explicit --workload b under the file resolved to %+v", w)
	}
}

// TestWatchInterrupts: the first signal stops issuing, the second abandons
// and hands signals back (the watcher returns), so a third is not swallowed.
func TestWatchInterrupts(t *testing.T) {
	sigs := make(chan os.Signal, 3)
	var firsts, seconds int
	returned := make(chan struct{})
	go func() {
		watchInterrupts(sigs, make(chan struct{}), func() { firsts++ }, func() { seconds++ })
		close(returned)
	}()
	sigs <- syscall.SIGINT
	sigs <- syscall.SIGINT
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher still holds the signals after the second")
	}
	if firsts != 1 || seconds != 1 {
		t.Errorf("first called %d times, second %d; want 1 and 1", firsts, seconds)
	}
	done := make(chan struct{})
	close(done)
	watchInterrupts(make(chan os.Signal), done, func() { t.Error("first called") }, func() { t.Error("second called") })
}

func TestValueSizeAndLoadOnly(t *testing.T) {
	tg := &memTarget{}
	code, out, errs := run(t, tg, "--phase", "load", "--recordcount", "100", "--value-size", "4096", "--status-interval", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "[INSERT], Operations, 100\n") || strings.Contains(out, "[READ]") {
		t.Errorf("load summary:\n%s", out)
	}
	for _, v := range tg.data {
		if len(v) != 4096 {
			t.Fatalf("record of %d bytes, want 4096", len(v))
		}
	}
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{{"--phase", "x"}, {"--nope"}, {"extra"}} {
		if code, _, _ := run(t, &memTarget{}, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := run(t, &memTarget{}, "--duration", "0", "--operationcount", "0"); code != 1 || !strings.Contains(errs, "never end") {
		t.Errorf("unbounded run: exit %d, %s", code, errs)
	}
}

func TestOpenLoopStatusLines(t *testing.T) {
	tg := &memTarget{}
	code, out, errs := run(t, tg, "--delay", "1ms", "--recordcount", "50", "--target", "400", "--duration", "350ms", "--status-interval", "100ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(errs, "current ops/sec; backlog"); n < 2 {
		t.Errorf("%d open-loop status lines in 350 ms at 100 ms:\n%s", n, errs)
	}
	if !strings.Contains(out, "[OVERALL], TargetThroughput(ops/sec), 400.000\n") || !strings.Contains(out, "[READ-SERVICE], Operations") {
		t.Errorf("open-loop summary:\n%s", out)
	}
}

// TestOpenLoopBacklogIsNamed: an open loop that falls behind says that
// its percentiles leave out the operations that were due but never started.
func TestOpenLoopBacklogIsNamed(t *testing.T) {
	tg := &memTarget{}
	code, out, errs := run(t, tg, "--delay", "5ms", "--recordcount", "20", "--threads", "1", "--target", "1000", "--duration", "300ms", "--status-interval", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	_, backlog, _ := strings.Cut(out, "[OVERALL], Backlog(ops), ")
	backlog, _, _ = strings.Cut(backlog, "\n")
	if backlog == "" || backlog == "0" {
		t.Fatalf("no backlog at 1000 ops/s with one 5 ms worker:\n%s", out)
	}
	if want := "percentiles exclude " + backlog + " operations that were due but never started (backlog)"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errs)
	}
}

// TestSweepChartAndTable runs a short sweep against a store that saturates
// near 1/delay*threads ops/s, then draws and tabulates the results.
func TestSweepChartAndTable(t *testing.T) {
	dir := t.TempDir()
	csvPath, svgPath := filepath.Join(dir, "s.csv"), filepath.Join(dir, "s.svg")
	tg := &memTarget{}
	code, out, errs := run(t, tg, "--delay", "2ms", "--recordcount", "50", "--threads", "2", "--sweep", "--sweep-start", "200", "--sweep-step", "600",
		"--sweep-steps", "4", "--sweep-step-time", "300ms", "--status-interval", "0", "--sweep-csv", csvPath, "--sweep-svg", svgPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := sweep.ReadCSV(f)
	f.Close()
	if err != nil || len(pts) < 2 {
		t.Fatalf("sweep CSV: %d points, %v\n%s", len(pts), err, errs)
	}
	// Two workers at >= 2 ms per operation serve at most 1,000 ops/s: the
	// step at 1,400 ops/s (or earlier) must saturate and end the sweep.
	if last := pts[len(pts)-1]; !last.Saturated() || last.Target > 1400 || pts[0].Saturated() {
		t.Errorf("sweep points %+v", pts)
	}
	if !strings.HasPrefix(out, "label,target_ops") {
		t.Errorf("stdout is not the sweep CSV:\n%s", out)
	}
	if b, err := os.ReadFile(svgPath); err != nil || !bytes.Contains(b, []byte("<polyline")) {
		t.Errorf("chart: %v", err)
	}
	// chart: two CSVs in one SVG.
	two := filepath.Join(dir, "two.svg")
	if code, _, errs := run(t, &memTarget{}, "chart", "--title", "t", "--out", two, csvPath, csvPath); code != 0 {
		t.Fatalf("chart: exit %d: %s", code, errs)
	}
	// table: a JSON summary as Markdown.
	js := filepath.Join(dir, "mem-a.json")
	if code, _, errs := run(t, &memTarget{}, "--recordcount", "20", "--operationcount", "100", "--status-interval", "0", "--format", "json", "--out", js); code != 0 {
		t.Fatalf("json run: exit %d: %s", code, errs)
	}
	code, table, errs := run(t, &memTarget{}, "table", js)
	if code != 0 || !strings.Contains(table, "| mem-a | ") || !strings.Contains(table, "| UPDATE | ") {
		t.Errorf("table: exit %d %s\n%s", code, errs, table)
	}
}

// TestCPUProfile: --cpu-profile writes a pprof profile of the run phase;
// the control, without it, writes nothing; a path that cannot be created
// fails the run.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.pprof")
	args := []string{"--recordcount", "50", "--operationcount", "200", "--threads", "2", "--status-interval", "0"}
	if code, _, errs := run(t, &memTarget{}, args...); code != 0 {
		t.Fatalf("control: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(prof); !os.IsNotExist(err) {
		t.Fatalf("control: %s exists (%v) with no --cpu-profile", prof, err)
	}
	if code, _, errs := run(t, &memTarget{}, append(args, "--cpu-profile", prof)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(prof)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // pprof profiles are gzipped protobuf
		t.Fatalf("profile: %d bytes, %v; want a gzipped pprof profile", len(b), err)
	}
	if code, _, _ := run(t, &memTarget{}, append(args, "--cpu-profile", filepath.Join(dir, "no", "such", "dir"))...); code == 0 {
		t.Fatal("a profile path that cannot be created: exit 0")
	}
}
