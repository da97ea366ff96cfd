package nemesis

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
)

// begin injects f and says what it did.
func (r *run) begin(f Fault) (string, error) {
	switch f.Kind {
	case Kill:
		return r.each(f.Nodes, "kill -9", r.m.t.kill)
	case Pause:
		return r.each(f.Nodes, "SIGSTOP", func(i int) (int, error) { return r.m.t.signal(i, syscall.SIGSTOP) })
	case Partition:
		a, b := r.sides(f)
		text := fmt.Sprintf("[%s] | [%s]", strings.Join(a.names, " "), strings.Join(b.names, " "))
		if err := r.m.net.Partition(a.ips, b.ips); err != nil {
			return text, fmt.Errorf("nemesis: partition: %w", err)
		}
		return text, nil
	}
	panic(fmt.Sprintf("nemesis: fault kind %d passed Validate", f.Kind))
}

// end undoes f and says what it did. It undoes all of f even where part
// of it fails.
func (r *run) end(f Fault) (string, error) {
	switch f.Kind {
	case Kill:
		var down []int
		for _, i := range f.Nodes {
			if !r.m.t.running(i) {
				down = append(down, i)
			}
		}
		return r.each(down, "restart", r.m.t.launch)
	case Pause:
		return r.each(f.Nodes, "SIGCONT", func(i int) (int, error) { return r.m.t.signal(i, syscall.SIGCONT) })
	case Partition:
		if err := r.m.net.Heal(); err != nil {
			return "heal", fmt.Errorf("nemesis: heal: %w", err)
		}
		return "heal", nil
	}
	panic(fmt.Sprintf("nemesis: fault kind %d passed Validate", f.Kind))
}

// each applies act to every node of nodes, going on past failures, and
// describes the result as "verb n1 (pid 10), n2 (pid 11)".
func (r *run) each(nodes []int, verb string, act func(int) (int, error)) (string, error) {
	var done []string
	var errs []error
	for _, i := range nodes {
		pid, err := act(i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, fmt.Sprintf("%s (pid %d)", r.m.t.name(i), pid))
	}
	if len(done) == 0 {
		return "", errors.Join(errs...)
	}
	return verb + " " + strings.Join(done, ", "), errors.Join(errs...)
}

// side is one side of a partition.
type side struct{ names, ips []string }

// sides splits the cluster for a Partition fault: f's nodes and clients
// first, every other node and plan client second, each in index order.
func (r *run) sides(f Fault) (a, b side) {
	for i := range r.m.t.size() {
		s := &b
		if slices.Contains(f.Nodes, i) {
			s = &a
		}
		s.names = append(s.names, r.m.t.name(i))
		s.ips = append(s.ips, r.m.t.ip(i))
	}
	for _, c := range f.Clients {
		a.names, a.ips = append(a.names, c), append(a.ips, c)
	}
	for _, c := range r.plan.ClientIPs {
		if !slices.Contains(f.Clients, c) {
			b.names, b.ips = append(b.names, c), append(b.ips, c)
		}
	}
	return a, b
}

// heal brings the whole cluster back: every node running and continued,
// no partition. It tries everything and returns every error.
func (r *run) heal() error {
	var notes []string
	var joined []error
	for i := range r.m.t.size() {
		if r.m.t.running(i) {
			// Continuing a process that is not stopped is harmless.
			if _, err := r.m.t.signal(i, syscall.SIGCONT); err != nil {
				joined = append(joined, err)
			}
			continue
		}
		pid, err := r.m.t.launch(i)
		if err != nil {
			joined = append(joined, err)
			continue
		}
		notes = append(notes, fmt.Sprintf("restart %s (pid %d)", r.m.t.name(i), pid))
	}
	if r.m.net != nil {
		if err := r.m.net.Heal(); err != nil {
			joined = append(joined, fmt.Errorf("nemesis: heal: %w", err))
		}
	}
	err := errors.Join(joined...)
	text := "all nodes running, no partition"
	if err != nil {
		text = "healing failed"
	}
	if len(notes) > 0 {
		text += "; " + strings.Join(notes, ", ")
	}
	r.observe(Final, Fault{}, text, err)
	return err
}
