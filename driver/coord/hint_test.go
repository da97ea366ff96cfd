package coord

import (
	"context"
	"slices"
	"testing"
)

// Write step 6: with no fallback for a down primary (a 3-node cluster at
// N=3), the coordinator also keeps a hint for it, which counts toward
// neither W nor PW.

// The hint is sent with the replicates, and its acknowledgement does not
// meet W=2 though the coordinator's and the hint's would make two.
func TestWriteHintAtCoordinatorWhenNoSpare(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet("c")), w2)
	s.ready("coordinate a")
	s.ok("a", v1)
	s.ready("replicate b", "replicate c", "replicate a>c")
	s.ok("a>c", v1)
	s.ready()
	s.pending()
	s.fail("c", errDown) // no spare, and a hint is out already: no second one
	s.ready()
	s.pending()
	s.ok("b", v1)
	s.ready()
	s.succeeded(v1, true)
}

// The hint counts toward neither W nor PW: with b and c both down and
// their hints kept at a, a write needing two acknowledgements (two of them
// from primaries) fails with a's alone counted.
func TestWriteHintCountsTowardNeitherWNorPW(t *testing.T) {
	for _, q := range []Quorum{{Need: 2}, {Need: 2, NeedPrimary: 2}} {
		s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet("b", "c")), q)
		s.ready("coordinate a")
		s.ok("a", v1)
		s.ready("replicate b", "replicate c", "replicate a>b", "replicate a>c")
		s.ok("a>b", v1)
		s.ok("a>c", v1)
		s.ready()
		s.pending()
		s.fail("b", errDown)
		s.fail("c", errLost)
		s.ready()
		s.failed(Failure{Needed: 2, Acked: 1, NeededPrimary: q.NeedPrimary, AckedPrimary: 1, Unknown: true,
			Causes: []Cause{{"b", errDown}, {"c", errLost}}}, true)
	}
}

// With a fallback believed up, the old sloppy quorum holds: the fallback
// stands in, it counts toward W, and the coordinator keeps no hint.
func TestWriteSpareStandsInWithoutExtraHint(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nodes("d"), downSet("c")), w2)
	s.ready("coordinate a")
	s.ok("a", v1)
	s.ready("replicate b", "replicate d>c")
	s.ok("d", v1)
	s.ready()
	s.succeeded(v1, false)
	s.ok("b", v1)
	s.ready()
	s.succeeded(v1, true)
}

// A primary believed up whose replicate fails with no spare left gets its
// hint then; once the write's deadline passed it gets none, as it would
// get no spare.
func TestWriteHintAfterReplicationFails(t *testing.T) {
	for _, expired := range []bool{false, true} {
		s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet()), Quorum{Need: 1})
		s.ready("coordinate a")
		s.ok("a", v1)
		s.ready("replicate b", "replicate c")
		s.succeeded(v1, false)
		s.ok("b", v1)
		if expired {
			s.m.Expire()
		}
		s.fail("c", errLost)
		if expired {
			s.ready()
			s.done()
			continue
		}
		s.ready("replicate a>c")
		s.succeeded(v1, false) // Done waits for the hint
		s.ok("a>c", v1)
		s.ready()
		s.done()
	}
}

// A primary believed down that coordinates after the others failed (a
// stale belief) keeps the hints for them, none for itself.
func TestWriteHintAtLastChanceCoordinator(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet("c")), w2)
	s.ready("coordinate a")
	s.fail("a", errDown)
	s.ready("coordinate b")
	s.fail("b", errShut)
	s.ready("coordinate c")
	s.ok("c", v1)
	s.ready("replicate a", "replicate b", "replicate c>a", "replicate c>b")
	s.ok("a", v1)
	s.ready()
	s.succeeded(v1, false)
	for _, n := range []string{"b", "c>a", "c>b"} {
		s.ok(n, v1)
	}
	s.ready()
	s.done()
}

// The hint's target names the slot's owner (the primary a stand-in served)
// and is never the owner itself.
func TestPlanHintAt(t *testing.T) {
	p := NewPlan(nodes("a", "b", "c"), nodes("d"), downSet("a"))
	if got := slotStrings(p); !slices.Equal(got, []string{"d>a", "b", "c"}) {
		t.Fatalf("slots %v", got)
	}
	for _, tc := range []struct {
		slot int
		at   string
		want string // "" for none
	}{
		{0, "b", "b>a"}, // the stand-in's owner, not the stand-in
		{1, "c", "c>b"},
		{1, "b", ""},
		{0, "a", ""},
	} {
		got, ok := p.hintAt(tc.slot, nodes(tc.at)[0])
		if s := targetString(got); ok != (tc.want != "") || (ok && s != tc.want) {
			t.Errorf("hintAt(%d, %s) = %s, %v; want %q", tc.slot, tc.at, s, ok, tc.want)
		}
		if ok && got.Primary() {
			t.Errorf("hintAt(%d, %s) is a primary target", tc.slot, tc.at)
		}
	}
}

// An abandoned write still sends its hints: they are replication, which
// goes on after the caller's end.
func TestWriteHintAfterAbandon(t *testing.T) {
	s := newWriteScript(t, NewPlan(nodes("a", "b", "c"), nil, downSet("c")), w2)
	s.ready("coordinate a")
	s.m.Abandon(context.Canceled)
	s.ok("a", v1)
	s.ready("replicate b", "replicate c", "replicate a>c")
	s.failed(Failure{Needed: 2, Acked: 1, AckedPrimary: 1, Ended: context.Canceled, Unknown: true}, false)
}
