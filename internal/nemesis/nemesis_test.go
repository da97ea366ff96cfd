package nemesis

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const ms = time.Millisecond

// events collects what Observe reports.
type events struct {
	mu sync.Mutex
	ev []Event
}

func (e *events) observe(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, ev)
}

func (e *events) strings() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.ev {
		out = append(out, ev.String())
	}
	return out
}

func TestTimedPlanRunsInOrderAndHeals(t *testing.T) {
	m, f := fakeNemesis(3)
	var obs events
	plan := Plan{
		Faults: []Fault{ // out of order on purpose
			{Kind: Partition, At: 40 * ms, For: 10 * ms, Nodes: []int{2}, Clients: []string{"127.0.9.100"}},
			{Kind: Kill, At: 0, For: 10 * ms, Nodes: []int{1}},
			{Kind: Pause, At: 5 * ms, For: 10 * ms, Nodes: []int{0, 2}}, // due while the kill lasts
		},
		ClientIPs: []string{"127.0.9.100", "127.0.9.101"},
		Observe:   obs.observe,
	}
	start := time.Now()
	if err := m.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 50*ms {
		t.Errorf("Run returned after %v, before the last fault was due and done", el)
	}
	want := []string{
		"kill n2", "launch n2",
		"SIGSTOP n1", "SIGSTOP n3", "SIGCONT n1", "SIGCONT n3",
		"partition 127.0.9.3,127.0.9.100 | 127.0.9.1,127.0.9.2,127.0.9.101", "heal",
		// the final heal
		"SIGCONT n1", "SIGCONT n2", "SIGCONT n3", "heal",
	}
	if got := f.actions(); !slices.Equal(got, want) {
		t.Fatalf("actions\n%q\nwant\n%q", got, want)
	}
	if s := f.healthy(); s != "" {
		t.Fatal(s)
	}
	wantEv := []string{
		"nemesis begin kill: kill -9 n2 (pid 101)",
		"nemesis end kill: restart n2 (pid 103)",
		"nemesis begin pause: SIGSTOP n1 (pid 100), n3 (pid 102)",
		"nemesis end pause: SIGCONT n1 (pid 100), n3 (pid 102)",
		"nemesis begin partition: [n3 127.0.9.100] | [n1 n2 127.0.9.101]",
		"nemesis end partition: heal",
		"nemesis final: all nodes running, no partition",
	}
	if got := obs.strings(); !slices.Equal(got, wantEv) {
		t.Fatalf("events\n%q\nwant\n%q", got, wantEv)
	}
	for i, ev := range obs.ev[1:] {
		if ev.At < obs.ev[i].At {
			t.Fatalf("event %d at %v before event %d at %v", i+1, ev.At, i, obs.ev[i].At)
		}
	}
	// The pause was due at 5ms but the kill lasted until at least 10ms.
	if obs.ev[2].At < 10*ms {
		t.Errorf("pause began at %v, while the kill lasted", obs.ev[2].At)
	}
}

func strip(s []string, drop func(string) bool) []string {
	return slices.DeleteFunc(slices.Clone(s), drop)
}

func TestCancelMidFaultHealsEverything(t *testing.T) {
	for _, k := range []Kind{Kill, Pause, Partition} {
		t.Run(k.String(), func(t *testing.T) {
			m, f := fakeNemesis(3)
			ctx, cancel := context.WithCancel(context.Background())
			var obs events
			plan := Plan{Faults: []Fault{{Kind: k, For: time.Hour, Nodes: []int{0}}}, Observe: func(e Event) {
				obs.observe(e)
				if e.Phase == Begin {
					cancel() // the hour-long fault is under way
				}
			}}
			done := make(chan error)
			go func() { done <- m.Run(ctx, plan) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
			if s := f.healthy(); s != "" {
				t.Fatalf("after Run: %s\nactions %q", s, f.actions())
			}
			if ev := obs.strings(); len(ev) != 3 || !strings.HasPrefix(ev[1], "nemesis end") {
				t.Fatalf("events %q: want begin, end, final", ev)
			}
		})
	}
}

func TestCycleIsSeededAndAlwaysHeals(t *testing.T) {
	run := func(seed uint64) []string {
		m, f := fakeNemesis(5)
		ctx, cancel := context.WithCancel(context.Background())
		faults := 0
		plan := Plan{
			Cycle:     []Kind{Kill, Pause, Partition},
			Rand:      rand.New(rand.NewPCG(seed, 1)),
			For:       ms,
			Gap:       ms,
			ClientIPs: []string{"127.0.9.100", "127.0.9.101"},
			Observe: func(e Event) {
				if e.Phase == End {
					if faults++; faults == 12 {
						cancel()
					}
				}
			},
		}
		if err := m.Run(ctx, plan); err != nil {
			t.Fatal(err)
		}
		if faults != 12 {
			t.Fatalf("%d faults, want 12", faults)
		}
		if s := f.healthy(); s != "" {
			t.Fatal(s)
		}
		return f.actions()
	}
	a, b, c := run(7), run(7), run(8)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different faults:\n%q\n%q", a, b)
	}
	if slices.Equal(a, c) {
		t.Fatalf("seeds 7 and 8 chose the same faults: %q", a)
	}
	kinds := strings.Join(a, "\n")
	for _, w := range []string{"kill n", "launch n", "SIGSTOP n", "SIGCONT n", "partition ", "heal"} {
		if !strings.Contains(kinds, w) {
			t.Errorf("a cycle of 12 faults never did %q:\n%s", w, kinds)
		}
	}
}

func TestChoose(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	clients := []string{"c0", "c1", "c2"}
	sizes := map[int]int{}
	for range 500 {
		for _, n := range []int{1, 2, 3, 5, 7} {
			f := choose(rng, Kill, n, clients)
			if len(f.Nodes) != 1 || f.Nodes[0] < 0 || f.Nodes[0] >= n || f.Clients != nil {
				t.Fatalf("kill on %d nodes chose %+v", n, f)
			}
			if n < 2 {
				continue
			}
			f = choose(rng, Partition, n, clients)
			if minority := max(1, (n-1)/2); len(f.Nodes) < 1 || len(f.Nodes) > minority {
				t.Fatalf("partition of %d nodes put %v on the minority side", n, f.Nodes)
			}
			if err := (Plan{Faults: []Fault{f}, ClientIPs: clients}).Validate(n, true); err != nil {
				t.Fatalf("chosen fault %+v invalid: %v", f, err)
			}
			if n == 7 {
				sizes[len(f.Nodes)]++
			}
		}
	}
	if len(sizes) != 3 {
		t.Errorf("7-node minorities had sizes %v, want 1, 2 and 3", sizes)
	}
}

func TestBeginFailureIsUndoneAndReported(t *testing.T) {
	m, f := fakeNemesis(3)
	f.failOn = "SIGSTOP n2"
	var obs events
	plan := Plan{Faults: []Fault{
		{Kind: Pause, For: time.Hour, Nodes: []int{0, 1}},
		{Kind: Kill, Nodes: []int{2}}, // never reached
	}, Observe: obs.observe}
	err := m.Run(context.Background(), plan)
	if err == nil || !strings.Contains(err.Error(), "injected failure: SIGSTOP n2") {
		t.Fatalf("err %v, want the injected failure", err)
	}
	if s := f.healthy(); s != "" {
		t.Fatal(s)
	}
	if slices.Contains(f.actions(), "kill n3") {
		t.Fatal("Run went on after a failed fault")
	}
	if ev := obs.strings(); len(ev) != 3 || !strings.Contains(ev[0], "SIGSTOP n1 (pid 100) (error: injected failure") {
		t.Fatalf("events %q", ev)
	}
}

func TestFinalHealReportsEveryFailure(t *testing.T) {
	m, f := fakeNemesis(3)
	f.failOn = "launch"
	err := m.Run(context.Background(), Plan{Faults: []Fault{{Kind: Kill, For: ms, Nodes: []int{0}}}})
	// The restart fails at the fault's end and again at the final heal.
	if err == nil || strings.Count(err.Error(), "injected failure: launch n1") != 2 {
		t.Fatalf("err %v, want two failed launches of n1", err)
	}
}

func TestValidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		name      string
		plan      Plan
		partition bool
		want      []string // substrings; none means valid
	}{
		{"timed", Plan{Faults: []Fault{{Kind: Kill, Nodes: []int{0}}}}, false, nil},
		{"cycle", Plan{Cycle: []Kind{Kill, Pause}, Rand: rng}, false, nil},
		{"empty", Plan{}, true, []string{"neither Faults nor Cycle"}},
		{"both", Plan{Faults: []Fault{{Kind: Kill, Nodes: []int{0}}}, Cycle: []Kind{Kill}, Rand: rng}, true, []string{"both"}},
		{"cycle without rand", Plan{Cycle: []Kind{Kill}}, true, []string{"Cycle without Rand"}},
		{"partition without net", Plan{Cycle: []Kind{Partition}, Rand: rng}, false, []string{"needs a *netfault.Net"}},
		{"every problem at once", Plan{Faults: []Fault{
			{Kind: 0, Nodes: []int{0}},
			{Kind: Kill},
			{Kind: Pause, Nodes: []int{3, 1, 1}, For: -1},
			{Kind: Partition, Nodes: []int{0, 1, 2}},
			{Kind: Kill, Nodes: []int{0}, Clients: []string{"x"}},
		}, Gap: -1}, true, []string{
			"fault 0 (Kind(0)): unknown kind 0",
			"fault 1 (kill): no target nodes",
			"fault 2 (pause): node 3 out of range [0, 3)",
			"fault 2 (pause): node 1 listed twice",
			"fault 2 (pause): negative At or For",
			"fault 3 (partition): a side of the partition is empty",
			"fault 4 (kill): clients are only for partitions",
			"negative For or Gap",
		}},
		{"partition of all nodes from a client", Plan{
			Faults:    []Fault{{Kind: Partition, Nodes: []int{0, 1, 2}}},
			ClientIPs: []string{"c"},
		}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.plan.Validate(3, tt.partition)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrPlan) {
				t.Fatalf("err %v, want ErrPlan", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
	m, f := fakeNemesis(3)
	m.net = nil
	if err := m.Run(context.Background(), Plan{Cycle: []Kind{Partition}, Rand: rng}); !errors.Is(err, ErrPlan) {
		t.Fatalf("Run without a network accepted a partition: %v", err)
	}
	if got := f.actions(); len(got) != 0 {
		t.Fatalf("an invalid plan acted: %q", got)
	}
}
