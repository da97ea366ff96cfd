package handoff

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// checkManager checks a Manager's invariants at now, right after a Start:
// the slot count is the running transfers' count and within Concurrency, no
// slot is idle while a transfer is due, and Status lists each transfer once,
// sorted.
func checkManager(m *Manager, now time.Time) error {
	running, due := 0, 0
	for _, e := range m.entries {
		switch {
		case e.st.Phase == Running:
			running++
		case e.st.Phase == Queued && !now.Before(e.notBefore):
			due++
		}
	}
	st := m.Status()
	switch {
	case running != m.Running():
		return fmt.Errorf("%d running, %d slots taken", running, m.Running())
	case running > m.cfg.Concurrency:
		return fmt.Errorf("%d running, concurrency %d", running, m.cfg.Concurrency)
	case due > 0 && running < m.cfg.Concurrency:
		return fmt.Errorf("%d transfers due with %d of %d slots taken", due, running, m.cfg.Concurrency)
	case !slices.IsSortedFunc(st, func(a, b Status) int { return a.ID.Compare(b.ID) }):
		return errors.New("status not sorted")
	}
	for i := 1; i < len(st); i++ {
		if st[i].ID == st[i-1].ID {
			return fmt.Errorf("%v twice", st[i].ID)
		}
	}
	return nil
}

// TestManagerProperty runs random plans, starts and ends; the invariants
// hold throughout, and once failures stop every planned transfer ends done.
func TestManagerProperty(t *testing.T) {
	var all []ID
	for p := range uint32(6) {
		all = append(all, pid(p), ID{Partition: p, RingVersion: 4, From: "n2", To: "n4"})
	}
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 1))
		m := mustManager(t, 1+rng.IntN(3))
		now := epoch
		var running []ID
		step := func(fail bool) {
			now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			switch r := rng.IntN(10); {
			case r == 0 && fail:
				var want []ID
				for _, id := range all {
					if rng.IntN(2) == 0 {
						want = append(want, id)
					}
				}
				for _, id := range m.Plan(want) {
					running = slices.DeleteFunc(running, func(x ID) bool { return x == id })
				}
			case r < 6 && len(running) > 0:
				i := rng.IntN(len(running))
				var err error
				if fail {
					err = []error{nil, ErrStalled, &RefusedError{Reason: RefuseStale}}[rng.IntN(3)]
				}
				m.Finish(now, running[i], Stats{Objects: 1}, err)
				running = slices.Delete(running, i, i+1)
			default:
				m.Progress(all[rng.IntN(len(all))], Stats{Batches: 1})
			}
			running = append(running, m.Start(now)...)
			if err := checkManager(m, now); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
		}
		m.Plan(all[:rng.IntN(len(all))])
		running = append(running, m.Start(now)...)
		for range 100 {
			step(true)
		}
		for range 1000 {
			if len(running) == 0 && m.Wake().IsZero() {
				break
			}
			if len(running) == 0 {
				now = m.Wake()
			}
			step(false)
		}
		for _, s := range m.Status() {
			if s.Phase != Done && s.Phase != Dropped {
				t.Fatalf("seed %d: %v left %v", seed, s.ID, s.Phase)
			}
		}
	}
}

// TestCheckManagerCatches is checkManager's negative control: a slot
// leaked, a transfer due with a slot idle, a duplicate entry.
func TestCheckManagerCatches(t *testing.T) {
	mk := func() *Manager {
		m := mustManager(t, 2)
		m.Plan([]ID{pid(1), pid(2), pid(3)})
		m.Start(epoch)
		if err := checkManager(m, epoch); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for name, break_ := range map[string]func(m *Manager){
		"leaked slot":  func(m *Manager) { m.running++ },
		"idle slot":    func(m *Manager) { m.entries[0].st.Phase = Queued; m.running-- },
		"over the cap": func(m *Manager) { m.entries[2].st.Phase = Running; m.running++ },
		"twice": func(m *Manager) {
			m.entries = append(m.entries, &entry{st: Status{ID: pid(3)}, notBefore: at(time.Hour)})
		},
	} {
		m := mk()
		break_(m)
		if err := checkManager(m, epoch); err == nil {
			t.Errorf("%s: not caught", name)
		}
	}
}

func TestIDCompare(t *testing.T) {
	ids := []ID{
		{Partition: 1, RingVersion: 1, From: "a", To: "b"},
		{Partition: 1, RingVersion: 1, From: "a", To: "c"},
		{Partition: 1, RingVersion: 1, From: "b", To: "a"},
		{Partition: 1, RingVersion: 2, From: "a", To: "a"},
		{Partition: 2, RingVersion: 0, From: "a", To: "a"},
	}
	for i := range ids {
		for j := range ids {
			if got, want := ids[i].Compare(ids[j]), cmp.Compare(i, j); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", ids[i], ids[j], got, want)
			}
		}
	}
}
