package nemesis

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
)

// fake is a target and network that keeps node states in memory and logs
// every action, for testing plans without processes.
type fake struct {
	mu      sync.Mutex
	up      []bool // process exists
	stopped []bool // SIGSTOPped
	pids    []int
	nextPID int
	cut     [][]string // current partition, nil when healed
	log     []string
	failOn  string // an action prefix that fails, as "launch n2"
}

func newFake(nodes int) *fake {
	f := &fake{up: make([]bool, nodes), stopped: make([]bool, nodes), pids: make([]int, nodes), nextPID: 100}
	for i := range nodes {
		f.up[i], f.pids[i] = true, f.nextPID
		f.nextPID++
	}
	return f
}

func (f *fake) record(format string, args ...any) error {
	s := fmt.Sprintf(format, args...)
	f.log = append(f.log, s)
	if f.failOn != "" && strings.HasPrefix(s, f.failOn) {
		return errors.New("injected failure: " + s)
	}
	return nil
}

func (f *fake) size() int         { return len(f.up) }
func (f *fake) name(i int) string { return fmt.Sprintf("n%d", i+1) }
func (f *fake) ip(i int) string   { return fmt.Sprintf("127.0.9.%d", i+1) }

func (f *fake) running(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.up[i]
}

func (f *fake) kill(i int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("kill %s", f.name(i)); err != nil {
		return 0, err
	}
	if !f.up[i] {
		return 0, errors.New("not running")
	}
	f.up[i], f.stopped[i] = false, false
	return f.pids[i], nil
}

func (f *fake) signal(i int, sig syscall.Signal) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := map[syscall.Signal]string{syscall.SIGSTOP: "SIGSTOP", syscall.SIGCONT: "SIGCONT"}
	if err := f.record("%s %s", names[sig], f.name(i)); err != nil {
		return 0, err
	}
	if !f.up[i] {
		return 0, errors.New("not running")
	}
	switch sig {
	case syscall.SIGSTOP:
		f.stopped[i] = true
	case syscall.SIGCONT:
		f.stopped[i] = false
	}
	return f.pids[i], nil
}

func (f *fake) launch(i int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("launch %s", f.name(i)); err != nil {
		return 0, err
	}
	if f.up[i] {
		return 0, errors.New("still running")
	}
	f.up[i], f.pids[i] = true, f.nextPID
	f.nextPID++
	return f.pids[i], nil
}

func (f *fake) Partition(groups ...[]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var parts []string
	for _, g := range groups {
		parts = append(parts, strings.Join(g, ","))
	}
	if err := f.record("partition %s", strings.Join(parts, " | ")); err != nil {
		return err
	}
	f.cut = groups
	return nil
}

func (f *fake) Heal() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("heal"); err != nil {
		return err
	}
	f.cut = nil
	return nil
}

// healthy says what is wrong with the cluster's state, or "".
func (f *fake) healthy() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var bad []string
	for i := range f.up {
		if !f.up[i] || f.stopped[i] {
			bad = append(bad, fmt.Sprintf("%s up=%v stopped=%v", f.name(i), f.up[i], f.stopped[i]))
		}
	}
	if f.cut != nil {
		bad = append(bad, fmt.Sprintf("partitioned %v", f.cut))
	}
	return strings.Join(bad, "; ")
}

func (f *fake) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func fakeNemesis(nodes int) (*Nemesis, *fake) {
	f := newFake(nodes)
	return &Nemesis{t: f, net: f}, f
}
