package handoff

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func pid(p uint32) ID { return ID{Partition: p, RingVersion: 3, From: "n1", To: "n4"} }

func mustManager(t *testing.T, c int) *Manager {
	t.Helper()
	m, err := NewManager(ManagerConfig{Concurrency: c})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManagerOrderAndSlots(t *testing.T) {
	// The same plan in any order starts the same transfers in the same order.
	var first []ID
	for _, plan := range [][]ID{{pid(5), pid(1), pid(3), pid(2)}, {pid(2), pid(3), pid(1), pid(5), pid(3)}} {
		m := mustManager(t, 0)
		m.Plan(plan)
		got := m.Start(epoch)
		if len(got) != DefaultConcurrency || m.Running() != 2 {
			t.Fatalf("started %v", got)
		}
		if first == nil {
			first = got
		} else if !slices.Equal(got, first) {
			t.Fatalf("started %v, then %v", first, got)
		}
		if more := m.Start(epoch); len(more) != 0 {
			t.Fatalf("beyond the slots: %v", more)
		}
	}
	if !slices.Equal(first, []ID{pid(1), pid(2)}) {
		t.Fatalf("started %v", first)
	}
	// A later plan queues behind the earlier one.
	m := mustManager(t, 1)
	m.Plan([]ID{pid(9)})
	m.Plan([]ID{pid(9), pid(1)})
	if got := m.Start(epoch); !slices.Equal(got, []ID{pid(9)}) {
		t.Fatalf("started %v", got)
	}
}

// TestManagerFailureFreesSlot: a failed transfer frees its slot at once
// for the next, and comes back after its back-off.
func TestManagerFailureFreesSlot(t *testing.T) {
	m := mustManager(t, 1)
	m.Plan([]ID{pid(1), pid(2)})
	m.Start(epoch)
	m.Progress(pid(1), Stats{Objects: 10, Batches: 1})
	m.Finish(epoch, pid(1), Stats{Objects: 12, Batches: 2}, ErrStalled)
	if m.Running() != 0 {
		t.Fatal("slot held by a failed transfer")
	}
	if got := m.Start(epoch); !slices.Equal(got, []ID{pid(2)}) {
		t.Fatalf("started %v", got)
	}
	m.Finish(epoch.Add(time.Second), pid(2), Stats{Objects: 5}, nil)
	if w := m.Wake(); !w.Equal(at(time.Second)) {
		t.Fatalf("wake %v", w)
	}
	if got := m.Start(at(time.Second - 1)); len(got) != 0 {
		t.Fatalf("started %v before its back-off", got)
	}
	if got := m.Start(at(time.Second)); !slices.Equal(got, []ID{pid(1)}) {
		t.Fatalf("started %v", got)
	}
	m.Progress(pid(1), Stats{Objects: 3})
	m.Finish(at(2*time.Second), pid(1), Stats{Objects: 4}, errCut) // second failure: 2 s
	st := m.Status()
	if st[0].ID != pid(1) || st[0].Phase != Queued || st[0].Failures != 2 || !st[0].Retry.Equal(at(4*time.Second)) ||
		st[0].Stats.Objects != 16 || !errors.Is(st[0].Err, errCut) {
		t.Fatalf("status %+v", st[0])
	}
	if st[1].Phase != Done || st[1].Stats.Objects != 5 || m.Totals().Objects != 21 {
		t.Fatalf("status %+v, totals %+v", st[1], m.Totals())
	}
	// A final refusal drops it.
	m.Start(at(4 * time.Second))
	m.Finish(at(4*time.Second), pid(1), Stats{}, &RefusedError{Reason: RefuseStale})
	if st := m.Status(); st[0].Phase != Dropped || m.Running() != 0 || !m.Wake().IsZero() {
		t.Fatalf("status %+v", st[0])
	}
}

// TestManagerReplan: transfers no longer planned are forgotten; running
// ones are returned to stop, their slots free, their late Finish ignored.
func TestManagerReplan(t *testing.T) {
	m := mustManager(t, 2)
	m.Plan([]ID{pid(1), pid(2), pid(3)})
	m.Start(epoch)
	stop := m.Plan([]ID{pid(3), pid(4)})
	if !slices.Equal(stop, []ID{pid(1), pid(2)}) || m.Running() != 0 {
		t.Fatalf("stop %v, running %d", stop, m.Running())
	}
	m.Finish(epoch, pid(1), Stats{Objects: 9}, nil)
	m.Progress(pid(2), Stats{Objects: 9})
	if got := m.Start(epoch); !slices.Equal(got, []ID{pid(3), pid(4)}) {
		t.Fatalf("started %v", got)
	}
	if len(m.Status()) != 2 || m.Totals().Objects != 0 {
		t.Fatalf("status %+v", m.Status())
	}
	if !m.Wake().IsZero() {
		t.Fatal("wake with no slot free")
	}
}

func TestManagerConfig(t *testing.T) {
	for _, c := range []int{-1, MaxConcurrency + 1} {
		if _, err := NewManager(ManagerConfig{Concurrency: c}); !errors.Is(err, ErrInvalid) {
			t.Errorf("concurrency %d: %v", c, err)
		}
	}
}
