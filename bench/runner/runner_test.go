package runner

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalkv/shoal/bench/measure"
	"github.com/shoalkv/shoal/bench/props"
	"github.com/shoalkv/shoal/bench/workload"
)

// fakeClock is simulated time: it moves only when a sleeper waits for a
// later time or the fake DB spends service time. With one worker, a run on
// it is exactly repeatable.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// slowDB is an in-process target whose i-th operation takes service(i) of
// simulated time (or of real time when clock is nil), and fails when fail(i).
type slowDB struct {
	clock   *fakeClock
	service func(i int64) time.Duration
	fail    func(i int64) bool
	n       atomic.Int64
}

func (d *slowDB) op() error {
	i := d.n.Add(1) - 1
	if d.clock != nil {
		d.clock.advance(d.service(i))
	} else {
		time.Sleep(d.service(i))
	}
	if d.fail != nil && d.fail(i) {
		return errors.New("injected failure")
	}
	return nil
}

func (d *slowDB) Read(context.Context, []byte) error           { return d.op() }
func (d *slowDB) Update(context.Context, []byte, []byte) error { return d.op() }
func (d *slowDB) Insert(context.Context, []byte, []byte) error { return d.op() }
func (d *slowDB) ReadModifyWrite(context.Context, []byte, func([]byte) []byte) error {
	return d.op()
}

func readOnly(t *testing.T) *workload.Plan {
	t.Helper()
	w, err := workload.FromProps(props.Props{"recordcount": "1000", "readproportion": "1", "updateproportion": "0",
		"requestdistribution": "uniform"}, "read-only")
	if err != nil {
		t.Fatal(err)
	}
	p, err := workload.NewPlan(w)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// model is an independent model of one open-loop worker: operation i is
// scheduled at i/rate, starts when both its time has come and the previous
// operation has ended, and its latency runs from its scheduled start.
func model(n int64, rate float64, service func(int64) time.Duration) []int64 {
	var out []int64
	var prevDone time.Duration
	for i := range n {
		intended := time.Duration(float64(i) * float64(time.Second) / rate)
		done := max(intended, prevDone) + service(i)
		prevDone = done
		out = append(out, int64((done-intended)/time.Microsecond))
	}
	slices.Sort(out)
	return out
}

func percentile(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-6))
	return sorted[max(1, min(rank, len(sorted)))-1]
}

func runFake(t *testing.T, target float64, n int64, service func(int64) time.Duration) *Result {
	t.Helper()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	db := &slowDB{clock: clock, service: service}
	res, err := Run(t.Context(), db, Transactions(readOnly(t)), Config{Threads: 1, Target: target, Operations: n, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Summary.Count(); got != n {
		t.Fatalf("ran %d operations, want %d", got, n)
	}
	return res
}

func checkAgainstModel(t *testing.T, name string, h *measure.Histogram, want []int64) {
	t.Helper()
	for _, p := range []float64{50, 90, 99, 100} {
		got, exp := h.PercentileMicros(p), percentile(want, p)
		if !h.Equivalent(got, exp) {
			t.Errorf("%s p%v = %d us, model %d us", name, p, got, exp)
		}
	}
}

// TestOpenLoopReportsQueueingThatClosedLoopHides drives a target that needs
// 5 ms per operation at 400 ops/s, twice what it can serve. A closed loop
// simply slows down and reports 5 ms; the open loop reports the queue that
// builds behind the schedule (operation i waits 2.5 ms * i).
func TestOpenLoopReportsQueueingThatClosedLoopHides(t *testing.T) {
	const n, rate = 200, 400.0
	service := func(int64) time.Duration { return 5 * time.Millisecond }

	closed := runFake(t, 0, n, service).Summary.Get(workload.Read).OK
	if p99 := closed.PercentileMicros(99); !closed.Equivalent(p99, 5000) {
		t.Fatalf("closed loop p99 = %d us, want the 5000 us service time", p99)
	}

	res := runFake(t, rate, n, service)
	open := res.Summary.Get(workload.Read)
	checkAgainstModel(t, "open loop", open.OK, model(n, rate, service))
	if p50 := open.OK.PercentileMicros(50); p50 < 20*closed.PercentileMicros(50) {
		t.Errorf("open-loop median %d us does not show the queue (closed loop %d us)", p50, closed.PercentileMicros(50))
	}
	// The service time the closed loop reported is still visible, apart.
	if p99 := open.Service.PercentileMicros(99); !open.Service.Equivalent(p99, 5000) {
		t.Errorf("open-loop service p99 = %d us, want 5000", p99)
	}
	// 200 operations at 5 ms: 1 s of work, 200 ops/s, not the 400 asked.
	if tp := res.Throughput(); math.Abs(tp-200) > 1 {
		t.Errorf("throughput %.1f ops/s, want 200", tp)
	}
}

// TestOpenLoopChargesAStallToEveryOperationItDelayed: one 1 s stall in a
// run of 0.1 ms operations at 1000 ops/s. The closed loop counts one slow
// operation (its p99 stays at 0.1 ms); the open loop counts the ~1100
// operations scheduled during and after the stall until the backlog drains.
func TestOpenLoopChargesAStallToEveryOperationItDelayed(t *testing.T) {
	const n, rate = 2000, 1000.0
	service := func(i int64) time.Duration {
		if i == 500 {
			return time.Second
		}
		return 100 * time.Microsecond
	}
	closed := runFake(t, 0, n, service).Summary.Get(workload.Read).OK
	if p99, max := closed.PercentileMicros(99), closed.MaxMicros(); !closed.Equivalent(p99, 100) || !closed.Equivalent(max, 1_000_000) {
		t.Errorf("closed loop: p99 %d us, max %d us; want 100 and 1,000,000", p99, max)
	}
	open := runFake(t, rate, n, service).Summary.Get(workload.Read).OK
	checkAgainstModel(t, "open loop", open, model(n, rate, service))
	if p99 := open.PercentileMicros(99); p99 < 500_000 {
		t.Errorf("open-loop p99 %d us hides the stall", p99)
	}
}

func TestOperationBoundIsExact(t *testing.T) {
	db := &slowDB{service: func(int64) time.Duration { return 0 }}
	res, err := Run(t.Context(), db, Transactions(readOnly(t)), Config{Threads: 4, Operations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Count() != 1000 || db.n.Load() != 1000 || res.Interrupted {
		t.Errorf("recorded %d, executed %d, interrupted %v; want 1000, 1000, false", res.Summary.Count(), db.n.Load(), res.Interrupted)
	}
}

func TestErrorsAreCountedApart(t *testing.T) {
	clock := &fakeClock{}
	db := &slowDB{clock: clock, service: func(int64) time.Duration { return time.Millisecond },
		fail: func(i int64) bool { return i%10 == 0 }}
	res, err := Run(t.Context(), db, Transactions(readOnly(t)), Config{Operations: 100, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary.Get(workload.Read)
	if s.Returns[workload.Error] != 10 || s.Returns[workload.OK] != 90 || s.Failed.Count() != 10 || s.OK.Count() != 90 {
		t.Errorf("returns %v, ok %d, failed %d", s.Returns, s.OK.Count(), s.Failed.Count())
	}
}

// TestCancelStopsIssuingAndKeepsWhatRan: Ctrl-C ends the phase early; the
// operations that ran are all in the result.
func TestCancelStopsIssuingAndKeepsWhatRan(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	db := &slowDB{service: func(int64) time.Duration { return time.Millisecond }}
	time.AfterFunc(50*time.Millisecond, cancel)
	var statuses atomic.Int64
	res, err := Run(ctx, db, Transactions(readOnly(t)), Config{Threads: 4, Duration: time.Minute,
		StatusInterval: 10 * time.Millisecond, OnStatus: func(Status) { statuses.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Summary.Count() == 0 || res.Summary.Count() != db.n.Load() {
		t.Errorf("interrupted %v, recorded %d of %d executed", res.Interrupted, res.Summary.Count(), db.n.Load())
	}
	if res.RunTime > 30*time.Second {
		t.Errorf("ran %v after cancellation", res.RunTime)
	}
	if statuses.Load() == 0 {
		t.Error("no status report in 50 ms at a 10 ms interval")
	}
}

// TestOpenLoopBacklog: at Duration, an open loop that has fallen behind
// reports the operations it never started.
func TestOpenLoopBacklog(t *testing.T) {
	clock := &fakeClock{}
	db := &slowDB{clock: clock, service: func(int64) time.Duration { return 10 * time.Millisecond }}
	res, err := Run(t.Context(), db, Transactions(readOnly(t)), Config{Target: 1000, Duration: time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	// 1 s at 10 ms per operation: 100 done of the 1000 scheduled.
	if got := res.Summary.Count(); got < 99 || got > 101 {
		t.Errorf("completed %d, want about 100", got)
	}
	if res.Backlog < 895 || res.Backlog > 905 {
		t.Errorf("backlog %d, want about 900", res.Backlog)
	}
	// A store that keeps up leaves no backlog, and every scheduled
	// operation ran: 1 s at 1000 ops/s is operations 0..999.
	db = &slowDB{clock: clock, service: func(int64) time.Duration { return 100 * time.Microsecond }}
	res, err = Run(t.Context(), db, Transactions(readOnly(t)), Config{Target: 1000, Duration: time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if res.Backlog != 0 || res.Summary.Count() != 1000 {
		t.Errorf("keeping up: backlog %d, %d operations; want 0 and 1000", res.Backlog, res.Summary.Count())
	}
}

func TestLoadInsertsEveryRecordOnce(t *testing.T) {
	w, _ := workload.FromProps(props.Props{"recordcount": "500"}, "load")
	plan, _ := workload.NewPlan(w)
	db := &keyDB{keys: map[string]int{}}
	res, err := Run(t.Context(), db, Load(plan), Config{Threads: 3, Operations: plan.LoadCount()})
	if err != nil {
		t.Fatal(err)
	}
	if len(db.keys) != 500 || res.Summary.Get(workload.Insert).Count() != 500 {
		t.Fatalf("%d distinct keys, %d inserts", len(db.keys), res.Summary.Get(workload.Insert).Count())
	}
	for k, n := range db.keys {
		if n != 1 {
			t.Errorf("%s inserted %d times", k, n)
		}
	}
}

type keyDB struct {
	mu   sync.Mutex
	keys map[string]int
}

func (d *keyDB) Read(context.Context, []byte) error           { return nil }
func (d *keyDB) Update(context.Context, []byte, []byte) error { return nil }
func (d *keyDB) Insert(_ context.Context, k, _ []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[string(k)]++
	return nil
}
func (d *keyDB) ReadModifyWrite(context.Context, []byte, func([]byte) []byte) error { return nil }

func TestConfigValidate(t *testing.T) {
	if err := (Config{Threads: -1, Target: math.NaN(), Duration: -1}).Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("bad config accepted: %v", err)
	}
}
