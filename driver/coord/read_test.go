package coord

import (
	"context"
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

var r2 = Quorum{Need: 2}

// A read asks R candidates, merges the answers, and succeeds at R.
func TestReadAsksRAndMerges(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), r2, ReadOptions{})
	s.ready(true, "get a", "get b")
	s.found("a", v2)
	s.ready(false)
	s.pending()
	s.found("b", v1)
	s.ready(false)
	s.succeeded(v2, "b") // b's copy is older: it gets v2
}

// Concurrent versions from different replicas are merged into siblings,
// and each replica that lacked one is repaired.
func TestReadMergesSiblings(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet()), r2, ReadOptions{})
	s.ready(true, "get a", "get b")
	s.found("b", w1)
	s.found("a", v1)
	s.ready(false)
	want := dvv.Merge(v1, w1)
	if len(want.Siblings) != 2 {
		t.Fatalf("test objects are not concurrent: %v", want)
	}
	s.succeeded(want, "b", "a") // in the order they answered
}

// Nothing found anywhere: an empty object, nothing to repair.
func TestReadNotFound(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet()), r2, ReadOptions{})
	s.ready(true, "get a", "get b")
	s.missing("a")
	s.missing("b")
	s.ready(false)
	s.succeeded(dvv.Set{})
}

// When those outstanding cannot make R, the next candidate is asked at
// once; a read with no one left to ask fails.
func TestReadRShortfallAsksTheNext(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), r2, ReadOptions{})
	s.ready(true, "get a", "get b")
	s.fail("a", errDown)
	s.ready(false, "get c")
	s.fail("c", errShut)
	s.ready(false, "get d(spare)") // a spare counts toward R
	s.found("d", v1)
	s.ready(false)
	s.pending()
	s.fail("b", errLost)
	s.ready(false)
	s.failed(Failure{Needed: 2, Acked: 1, Causes: []Cause{{"a", errDown}, {"c", errShut}, {"b", errLost}}})
}

// When primaries are short (PR), the next primary is asked, past stand-ins
// and spares, down to the primaries believed down.
func TestReadPRShortfallAsksTheNextPrimary(t *testing.T) {
	// a is down: d stands in for it; e is a spare; a comes last.
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nodes("d", "e"), downSet("a")), Quorum{Need: 2, NeedPrimary: 2}, ReadOptions{})
	// d>a and b are the first two, but only b is a primary: c at once.
	s.ready(true, "get d>a", "get b", "get c")
	s.fail("c", errDown)
	s.ready(false, "get a") // not e: R is not short, PR is
	s.found("d", v1)        // a stand-in's answer counts toward R only
	s.found("b", v1)
	s.ready(false)
	s.pending()
	s.found("a", v2)
	s.ready(false)
	// The stand-in's stale copy is not repaired: it does not own the key.
	s.succeeded(v2, "b")
}

// Both short: anyone is asked first, then primaries.
func TestReadBothShort(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b"), nodes("e"), downSet()), Quorum{Need: 2, NeedPrimary: 2}, ReadOptions{})
	s.ready(true, "get a", "get b")
	s.fail("a", errDown)
	// R is short and so is PR, but no primary is left: e may still make R.
	s.ready(false, "get e(spare)")
	s.found("e", v1)
	s.found("b", v1)
	s.ready(false)
	s.failed(Failure{Needed: 2, Acked: 2, NeededPrimary: 2, AckedPrimary: 1, Causes: []Cause{{"a", errDown}}})
}

// A Tick asks one more candidate and re-arms the timer; with no one left
// it asks nobody and leaves the timer stopped.
func TestReadSpeculatesOnTick(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), r2, ReadOptions{})
	s.ready(true, "get a", "get b")
	s.m.Tick()
	s.ready(true, "get c")
	s.m.Tick()
	s.ready(true, "get d(spare)")
	s.m.Tick()
	s.ready(false)
	s.found("d", v1)
	s.found("c", v1)
	s.ready(false)
	s.succeeded(v1) // neither d (a spare) nor c lacks anything
}

// While the primaries asked cannot make PR, a Tick asks only a primary:
// with none left it asks nobody, though a spare is left.
func TestReadSpeculatesWithAPrimaryWhilePRShort(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a"), nodes("d", "e"), downSet()), Quorum{Need: 1, NeedPrimary: 1}, ReadOptions{})
	s.ready(true, "get a")
	s.fail("a", errLost)
	s.ready(false, "get d(spare)") // R was short
	s.m.Tick()
	s.ready(false) // not e: only a primary could help PR
	s.found("d", v1)
	s.ready(false)
	s.failed(Failure{Needed: 1, Acked: 1, NeededPrimary: 1, Causes: []Cause{{"a", errLost}}})
}

// A Tick with PR met asks anyone next, spares included.
func TestReadSpeculatesWithAnyoneOnceThePrimariesSuffice(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b"), nodes("d"), downSet("b")), Quorum{Need: 2, NeedPrimary: 1}, ReadOptions{})
	s.ready(true, "get a", "get d>b")
	s.m.Tick()
	s.ready(true, "get b") // the primary believed down is the next candidate
	s.m.Tick()
	s.ready(false)
}

// ReadAll asks every slot at once, and still succeeds at R.
func TestReadAll(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), Quorum{Need: 1}, ReadOptions{All: true})
	s.ready(true, "get a", "get b", "get c")
	s.missing("c")
	s.ready(false)
	s.succeeded(dvv.Set{})
	// Late answers are ignored.
	s.found("a", v1)
	s.ready(false)
	s.succeeded(dvv.Set{})
}

// The caller's end fails the read with what it gathered.
func TestReadDeadline(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet()), Quorum{Need: 2, NeedPrimary: 1}, ReadOptions{})
	s.ready(true, "get a", "get b")
	s.found("a", v1)
	s.ready(false)
	s.m.Abandon(context.DeadlineExceeded)
	s.ready(false)
	s.failed(Failure{Needed: 2, Acked: 1, NeededPrimary: 1, AckedPrimary: 1, Ended: context.DeadlineExceeded})
	s.m.Tick() // after the result: nothing
	s.ready(false)
	s.m.Abandon(context.Canceled)
	s.failed(Failure{Needed: 2, Acked: 1, NeededPrimary: 1, AckedPrimary: 1, Ended: context.DeadlineExceeded})
}

// Only the primaries that answered with less than the merge are repaired:
// not stand-ins, not spares, not those that failed or were not asked.
func TestReadRepairsOnlyStalePrimaries(t *testing.T) {
	// c is down: d stands in for it; e is a spare.
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nodes("d", "e"), downSet("c")), Quorum{Need: 4}, ReadOptions{})
	s.ready(true, "get a", "get b", "get d>c", "get e(spare)")
	s.found("e", v1)
	s.found("d", v1)
	s.missing("b")
	s.found("a", v2)
	s.ready(false)
	s.succeeded(v2, "b")
}

// A tombstone is something to repair a replica that has nothing with.
func TestReadRepairsMissingTombstones(t *testing.T) {
	gone, _ := v2.Update(dvv.Actor{Node: "a", Epoch: 1}, v2.VV, nil, true)
	s := newReadScript(t, NewPlan(nodes("a", "b"), nil, downSet()), r2, ReadOptions{})
	s.ready(true, "get a", "get b")
	s.missing("a")
	s.found("b", gone)
	s.ready(false)
	s.succeeded(gone, "a")
}

func TestReadMisuse(t *testing.T) {
	mustPanic(t, "a read needing nothing", func() { NewRead(NewPlan(nodes("a"), nil, downSet()), Quorum{}, ReadOptions{}) })
	m := NewRead(NewPlan(nodes("a", "b", "c"), nil, downSet()), r2, ReadOptions{})
	rd := m.Ready()
	mustPanic(t, "an answer to a candidate never asked", func() { m.Answer(3, Answer{}) })
	mustPanic(t, "an answer to id 0", func() { m.Answer(0, Answer{}) })
	m.Answer(rd.Sends[0].ID, Answer{Err: errDown})
	mustPanic(t, "a second answer", func() { m.Answer(rd.Sends[0].ID, Answer{}) })
	mustPanic(t, "Abandon(nil)", func() { m.Abandon(nil) })
	if m.Candidates() != 3 {
		t.Errorf("candidates %d, want 3", m.Candidates())
	}
}

// Rotate picks where among the slots believed up a read starts; a Tick asks
// the next one round, so speculation still covers the tail.
func TestReadRotateStartsElsewhere(t *testing.T) {
	for _, c := range []struct {
		rotate uint64
		first  []string
		tick   string
	}{
		{0, []string{"get a", "get b"}, "get c"},
		{1, []string{"get b", "get c"}, "get a"},
		{2, []string{"get c", "get a"}, "get b"},
		{4, []string{"get b", "get c"}, "get a"}, // modulo the slots believed up
	} {
		s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), r2, ReadOptions{Rotate: c.rotate})
		s.ready(true, c.first...)
		s.m.Tick()
		s.ready(true, c.tick)
		s.m.Tick()
		s.ready(true, "get d(spare)") // spares stay after the slots
	}
}

// Over every rotation, each replica believed up is among the first R asked
// equally often: the same R replicas are not asked every time.
func TestReadRotateAsksEveryReplica(t *testing.T) {
	for _, n := range []int{3, 5} {
		ids := []string{"a", "b", "c", "d", "e"}[:n]
		asked := map[string]int{}
		for rot := range n {
			m := NewRead(NewPlan(nodes(ids...), nil, downSet()), r2, ReadOptions{Rotate: uint64(rot)})
			for _, s := range m.Ready().Sends {
				asked[string(s.To.Node.ID)]++
			}
		}
		for _, id := range ids {
			if asked[id] != r2.Need {
				t.Errorf("n=%d: %s asked first in %d of %d rotations, want %d (all %v)", n, id, asked[id], n, r2.Need, asked)
			}
		}
	}
}

// Primaries believed down keep their place after the slots believed up,
// whatever the rotation.
func TestReadRotateKeepsDownSlotsLast(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet("a")), r2, ReadOptions{Rotate: 1})
	s.ready(true, "get c", "get b") // slots b, c believed up; a is last
	s.m.Tick()
	s.ready(true, "get a")
	one := newReadScript(t, NewPlan(nodes("a", "b"), nil, downSet("b")), Quorum{Need: 1}, ReadOptions{Rotate: 7})
	one.ready(true, "get a") // one slot believed up: nothing to rotate
}

// A stale replica that a rotated read asks is repaired; the read in
// preference order never asks it (the negative control).
func TestReadRotateRepairsTheThirdReplica(t *testing.T) {
	s := newReadScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet()), r2, ReadOptions{Rotate: 1})
	s.ready(true, "get b", "get c")
	s.found("b", v2)
	s.found("c", v1)
	s.ready(false)
	s.succeeded(v2, "c")
	fixed := newReadScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet()), r2, ReadOptions{})
	fixed.ready(true, "get a", "get b")
	fixed.found("a", v2)
	fixed.found("b", v2)
	fixed.ready(false)
	fixed.succeeded(v2) // c, stale, was not asked
}
