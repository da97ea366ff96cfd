package coord

import (
	"context"
	"testing"
)

var w2 = Quorum{Need: 2}

// Coordination tries the primaries believed up, then the stand-ins, then
// the primaries believed down; attempts that were refused by an answer or
// never sent leave a refused write, not an unknown one.
func TestWriteCoordinationOrder(t *testing.T) {
	// a and c are down; d stands in for a; no fallback is left for c.
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet("a", "c")), w2)
	s.ready("coordinate b")
	s.fail("b", errDown)
	s.ready("coordinate d>a")
	s.fail("d", errShut)
	s.ready("coordinate c")
	s.fail("c", errDown)
	s.ready()
	s.failed(Failure{Needed: 2, Causes: []Cause{{"b", errDown}, {"d", errShut}, {"c", errDown}}}, true)
}

// A slot whose coordinator fails gets a spare holding a hint for its owner,
// and is tried again after the other slots.
func TestWriteCoordinationRetriesAFailedSlotLast(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), w2)
	s.ready("coordinate a")
	s.fail("a", errDown) // slot 0 goes to d, after b and c
	s.ready("coordinate b")
	s.fail("b", errDown) // no spare left: slot 1 is not tried again
	s.ready("coordinate c")
	s.fail("c", errShut)
	s.ready("coordinate d>a")
	s.ok("d", v1)
	// The stand-in coordinated; the others get the object, and as b and c
	// failed with no spare left, d also keeps hints for them.
	s.ready("replicate b", "replicate c", "replicate d>b", "replicate d>c")
	s.pending()
	s.ok("d>b", v1)
	s.ok("d>c", v1)
	s.ready()
	s.pending() // the hints count for nothing
	s.ok("b", v1)
	s.ready()
	s.succeeded(v1, false) // c's send is still out
	s.ok("c", v1)
	s.ready()
	s.done()
}

// A replication slot whose node fails moves to the next spare, for the
// same owner, until one acknowledges.
func TestWriteReplicationMovesToSpares(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d", "e"), downSet()), Quorum{Need: 3})
	s.ready("coordinate a")
	s.ok("a", v1)
	s.ready("replicate b", "replicate c")
	s.fail("b", errDown)
	s.ready("replicate d>b")
	s.fail("d", errLost)
	s.ready("replicate e>b")
	s.ok("c", v1)
	s.ready()
	s.pending()
	s.ok("e", v1)
	s.ready()
	s.succeeded(v1, true)
}

// A replication slot gives up when no spare is left, or at a final
// refusal even with spares left.
func TestWriteReplicationGivesUp(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), Quorum{Need: 3})
	s.ready("coordinate a")
	s.ok("a", v1)
	s.ready("replicate b", "replicate c")
	s.fail("b", errSiblings) // final: d is not tried
	s.ready()
	s.pending()
	s.fail("c", errDown)
	s.ready("replicate d>c")
	s.fail("d", errLost) // no spare left: a keeps a hint for c; not for b, which refused for good
	s.ready("replicate a>c")
	// Every replication failure is an unknown outcome: a holds the write.
	s.failed(Failure{Needed: 3, Acked: 1, AckedPrimary: 1, Unknown: true,
		Causes: []Cause{{"b", errSiblings}, {"c", errDown}, {"d", errLost}}}, false)
	s.fail("a>c", errShut) // a failed hint is no cause of the write's
	s.ready()
	s.failed(Failure{Needed: 3, Acked: 1, AckedPrimary: 1, Unknown: true,
		Causes: []Cause{{"b", errSiblings}, {"c", errDown}, {"d", errLost}}}, true)
}

// A refusal every node would repeat ends the write at once: refused,
// nothing applied.
func TestWriteFinalRefusal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first error // the first coordinator's failure, nil for none
	}{
		{"first attempt", nil},
		{"after an attempt that was not applied", errDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), w2)
			s.ready("coordinate a")
			next := "a"
			if tc.first != nil {
				s.fail("a", tc.first)
				s.ready("coordinate b")
				next = "b"
			}
			s.fail(next, errSiblings)
			rd := s.ready()
			if r := rd.Result; r.Verdict != Refused || r.Refusal.Node != nodes(next)[0].ID || r.Refusal.Err != errSiblings || !rd.Done {
				t.Fatalf("result %+v, done %v; want refused by %s", r, rd.Done, next)
			}
		})
	}
}

// A final refusal after an attempt that may have applied the write is an
// unknown outcome, not a refusal: the earlier node may hold it. So is a
// refusal that came as a bad answer to a sent request.
func TestWriteFinalRefusalAfterMayHaveApplied(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), w2)
	s.ready("coordinate a")
	s.fail("a", errLost)
	s.ready("coordinate b")
	s.fail("b", errSiblings)
	s.ready()
	s.failed(Failure{Needed: 2, Unknown: true, Causes: []Cause{{"a", errLost}, {"b", errSiblings}}}, true)
}

// With no coordinator found, the outcome is unknown exactly when some
// attempt may have applied the write.
func TestWriteNoCoordinatorUnknownVersusRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		errs    [3]error
		unknown bool
	}{
		{"none sent", [3]error{errDown, errShut, errDown}, false},
		{"one lost", [3]error{errDown, errLost, errShut}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet()), w2)
			for i, n := range []string{"a", "b", "c"} {
				s.ready("coordinate " + n)
				s.fail(n, tc.errs[i])
			}
			s.ready()
			s.failed(Failure{Needed: 2, Unknown: tc.unknown,
				Causes: []Cause{{"a", tc.errs[0]}, {"b", tc.errs[1]}, {"c", tc.errs[2]}}}, true)
		})
	}
}

// W met by stand-ins is not enough when PW primaries must acknowledge.
func TestWritePWShortfall(t *testing.T) {
	// a and b are down: d and e stand in; c coordinates.
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d", "e"), downSet("a", "b")), Quorum{Need: 2, NeedPrimary: 2})
	s.ready("coordinate c")
	s.ok("c", v1)
	s.ready("replicate d>a", "replicate e>b")
	s.ok("d", v1)
	s.ready()
	s.pending() // two acks, one from a primary
	s.ok("e", v1)
	s.ready()
	s.failed(Failure{Needed: 2, Acked: 3, NeededPrimary: 2, AckedPrimary: 1, Unknown: true}, true)
}

// W=1 is met by the coordinator alone, and replication still goes to every
// slot afterwards, moving to spares as it would before the result.
func TestWriteReplicatesAfterTheResult(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), Quorum{Need: 1})
	s.ready("coordinate a")
	s.ok("a", v2)
	s.ready("replicate b", "replicate c")
	s.succeeded(v2, false)
	s.fail("b", errDown)
	s.ready("replicate d>b")
	s.succeeded(v2, false)
	s.ok("c", v2)
	s.ok("d", v2)
	s.ready()
	s.succeeded(v2, true)
}

// The caller's end during replication fails the write at once with the
// causes of the slots that ended, but replication goes on; once the
// deadline passed, a failed slot does not move to a spare.
func TestWriteAbandonedWhileReplicating(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d", "e", "f"), downSet()), Quorum{Need: 3})
	s.ready("coordinate a")
	s.ok("a", v1)
	s.ready("replicate b", "replicate c")
	s.fail("b", errDown)
	s.ready("replicate d>b")
	s.fail("d", errDown)
	s.ready("replicate e>b")
	s.m.Abandon(context.DeadlineExceeded)
	s.ready()
	// b's slot is still trying: its causes are not the write's.
	s.failed(Failure{Needed: 3, Acked: 1, AckedPrimary: 1, Ended: context.DeadlineExceeded, Unknown: true}, false)
	s.m.Expire()
	s.fail("c", errLost) // f is left, but the deadline passed
	s.ready()
	s.ok("e", v1)
	s.ready()
	s.failed(Failure{Needed: 3, Acked: 1, AckedPrimary: 1, Ended: context.DeadlineExceeded, Unknown: true}, true)
}

// The caller's end during coordination waits for the attempt in flight,
// whose failure may have applied the write, and then fails it.
func TestWriteAbandonedWhileCoordinating(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), w2)
	s.ready("coordinate a")
	s.m.Abandon(context.Canceled)
	s.ready()
	s.pending()
	s.fail("a", errLost)
	s.ready() // no next attempt
	s.failed(Failure{Needed: 2, Ended: context.Canceled, Unknown: true, Causes: []Cause{{"a", errLost}}}, true)
}

// A coordinator that accepts after the caller's end still starts
// replication, and the write fails unless the coordinator alone met W.
func TestWriteAbandonedCoordinatorAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    Quorum
	}{{"w=2", w2}, {"w=1", Quorum{Need: 1}}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newWriteScript(t, NewPlan(nodes("a", "b"), nil, downSet()), tc.q)
			s.ready("coordinate a")
			s.m.Abandon(context.DeadlineExceeded)
			s.ok("a", v1)
			s.ready("replicate b")
			if tc.q.Need == 1 {
				s.succeeded(v1, false)
			} else {
				s.failed(Failure{Needed: 2, Acked: 1, AckedPrimary: 1, Ended: context.DeadlineExceeded, Unknown: true}, false)
			}
		})
	}
}

// A write abandoned before its first attempt sends nothing.
func TestWriteAbandonedBeforeStarting(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet()), w2)
	s.m.Abandon(context.DeadlineExceeded)
	s.m.Abandon(context.Canceled) // only the first counts
	s.ready()
	s.failed(Failure{Needed: 2, Ended: context.DeadlineExceeded}, true)
}

// A bad answer is final, and may have applied: the write is not a plain
// refusal when an earlier attempt may have applied it, and a replication
// slot stops at it.
func TestWriteBadAnswer(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), Quorum{Need: 3})
	s.ready("coordinate a")
	s.ok("a", v1)
	s.ready("replicate b", "replicate c")
	s.fail("b", errGarbled)
	s.ready() // no spare for b's slot
	s.ok("c", v1)
	s.ready()
	s.failed(Failure{Needed: 3, Acked: 2, AckedPrimary: 2, Unknown: true, Causes: []Cause{{"b", errGarbled}}}, true)
}

// A coordinator's garbled answer ends the write (final), but it may have
// applied it: the outcome is unknown, not refused.
func TestWriteBadCoordinatorAnswerIsUnknown(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet()), w2)
	s.ready("coordinate a")
	s.fail("a", errGarbled)
	s.ready()
	s.failed(Failure{Needed: 2, Unknown: true, Causes: []Cause{{"a", errGarbled}}}, true)
}

// A plan of one slot has nothing to replicate to: the coordinator's answer
// decides, and a stand-in's cannot meet PW.
func TestWriteSingleSlot(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a"), nodes("d"), downSet("a")), Quorum{Need: 1, NeedPrimary: 1})
	s.ready("coordinate d>a")
	s.ok("d", v1)
	s.ready()
	s.failed(Failure{Needed: 1, Acked: 1, NeededPrimary: 1, Unknown: true}, true)
}

// With nothing to replicate to, the write is decided by the coordinator's
// answer alone, even after the caller's end: the end is no cause of the
// failure (as before coord, whose replication step returned at once).
func TestWriteSingleSlotAbandoned(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a"), nodes("d"), downSet("a")), Quorum{Need: 1, NeedPrimary: 1})
	s.ready("coordinate d>a")
	s.m.Abandon(context.DeadlineExceeded)
	s.ok("d", v1)
	s.ready()
	s.failed(Failure{Needed: 1, Acked: 1, NeededPrimary: 1, Unknown: true}, true)
}

func TestWriteMisuse(t *testing.T) {
	mustPanic(t, "a write needing nothing", func() { NewWrite(NewPlan(nil, nil, downSet()), Quorum{}) })
	m := NewWrite(NewPlan(nodes("a", "b"), nil, downSet()), w2)
	rd := m.Ready()
	id := rd.Sends[0].ID
	mustPanic(t, "an answer to a send never made", func() { m.Answer(id+1, Answer{}) })
	m.Answer(id, Answer{Err: errDown})
	mustPanic(t, "a second answer", func() { m.Answer(id, Answer{}) })
	mustPanic(t, "Abandon(nil)", func() { m.Abandon(nil) })
}
