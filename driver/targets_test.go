package driver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

func nodes(ids ...string) []ring.Node {
	out := make([]ring.Node, len(ids))
	for i, id := range ids {
		out[i] = ring.Node{ID: ring.NodeID(id)}
	}
	return out
}

func downSet(ids ...string) func(ring.NodeID) bool {
	return func(id ring.NodeID) bool { return !slices.Contains(ids, string(id)) }
}

func slotStrings(p *plan) []string {
	var out []string
	for _, t := range p.slots {
		s := string(t.node.ID)
		if t.hintFor != "" {
			s += ">" + string(t.hintFor)
		}
		out = append(out, s)
	}
	return out
}

func TestPlanSloppyQuorum(t *testing.T) {
	prim, fall := nodes("a", "b", "c"), nodes("d", "e")
	for _, tc := range []struct {
		down       []string
		wantSlots  []string
		wantSpares []ring.NodeID
	}{
		{nil, []string{"a", "b", "c"}, []ring.NodeID{"d", "e"}},
		{[]string{"b"}, []string{"a", "d>b", "c"}, []ring.NodeID{"e"}},
		{[]string{"a", "b"}, []string{"d>a", "e>b", "c"}, nil},
		// A down fallback is skipped for stand-ins and kept as a last spare.
		{[]string{"a", "d"}, []string{"e>a", "b", "c"}, []ring.NodeID{"d"}},
		// No fallback left: the down primary keeps its slot, after the up ones.
		{[]string{"a", "b", "c", "d"}, []string{"e>a", "b", "c"}, []ring.NodeID{"d"}},
		{[]string{"a", "b", "c", "d", "e"}, []string{"a", "b", "c"}, []ring.NodeID{"d", "e"}},
	} {
		t.Run(fmt.Sprint(tc.down), func(t *testing.T) {
			p := newPlan(prim, fall, downSet(tc.down...))
			if got := slotStrings(p); !slices.Equal(got, tc.wantSlots) {
				t.Errorf("slots = %v, want %v", got, tc.wantSlots)
			}
			var spares []ring.NodeID
			for _, n := range p.spares {
				spares = append(spares, n.ID)
			}
			if !slices.Equal(spares, tc.wantSpares) {
				t.Errorf("spares = %v, want %v", spares, tc.wantSpares)
			}
		})
	}
}

func TestPlanOrdersUpSlotsFirst(t *testing.T) {
	p := newPlan(nodes("a", "b", "c"), nil, downSet("a"))
	if got, want := slotStrings(p), []string{"b", "c", "a"}; !slices.Equal(got, want) {
		t.Fatalf("slots = %v, want %v", got, want)
	}
}

func TestPlanReplaceKeepsTheOwner(t *testing.T) {
	p := newPlan(nodes("a", "b", "c"), nodes("d", "e"), downSet())
	tg, ok := p.replace(1)
	if !ok || tg.node.ID != "d" || tg.hintFor != "b" {
		t.Fatalf("replace(1) = %+v %v, want d holding a hint for b", tg, ok)
	}
	// A stand-in that fails in turn is replaced by one for the same owner.
	if tg, ok = p.replace(1); !ok || tg.node.ID != "e" || tg.hintFor != "b" {
		t.Fatalf("second replace(1) = %+v %v, want e holding a hint for b", tg, ok)
	}
	if _, ok = p.replace(0); ok {
		t.Fatal("replace succeeded with no spare left")
	}
	if got := p.slot(1); got.owner() != "b" || got.primary() {
		t.Fatalf("slot 1 = %+v", got)
	}
}

func TestQuorumNeedsPrimariesForPW(t *testing.T) {
	q := quorum{need: 2, needPrimary: 2}
	q.add(target{node: ring.Node{ID: "a"}})
	q.add(target{node: ring.Node{ID: "d"}, hintFor: "b"})
	if q.met() {
		t.Fatal("a hinted ack counted as a primary")
	}
	q.add(target{node: ring.Node{ID: "c"}})
	if !q.met() {
		t.Fatal("2 primary acks of 3 did not meet W=2 PW=2")
	}
}

func TestMayHaveApplied(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&wire.CallError{Op: "dial", Err: errors.New("refused")}, false},
		{&wire.CallError{Op: "open", Err: errors.New("closed")}, false},
		{&wire.CallError{Op: "read", Err: context.DeadlineExceeded}, true},
		{&wire.RemoteError{Code: wire.CodeShuttingDown}, false},
		{&wire.RemoteError{Code: wire.CodeHintRefused}, false},
		{&wire.RemoteError{Code: wire.CodeStorage}, true},
		{context.DeadlineExceeded, true},
	} {
		if got := mayHaveApplied(tc.err); got != tc.want {
			t.Errorf("mayHaveApplied(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestQuorumErrorUnknownOutcome(t *testing.T) {
	refused := &QuorumError{Op: "put", Needed: 2}
	unknown := &QuorumError{Op: "put", Needed: 2, Acked: 1, Unknown: true}
	if !errors.Is(refused, ErrUnavailable) || errors.Is(refused, ErrUnknownOutcome) {
		t.Error("a refused write must match ErrUnavailable only")
	}
	if !errors.Is(unknown, ErrUnavailable) || !errors.Is(unknown, ErrUnknownOutcome) {
		t.Error("an unknown outcome must match both ErrUnavailable and ErrUnknownOutcome")
	}
}

func TestRepairTargetsOnlyStaleAnswers(t *testing.T) {
	var empty dvv.Set
	v1, _ := empty.Update(dvv.Actor{Node: "a", Epoch: 1}, nil, []byte("x"), false)
	v2, _ := v1.Update(dvv.Actor{Node: "a", Epoch: 1}, v1.VV, []byte("y"), false)
	for _, tc := range []struct {
		name   string
		got    wire.GetOK
		merged dvv.Set
		want   bool
	}{
		{"missing, nothing anywhere", wire.GetOK{}, empty, false},
		{"missing", wire.GetOK{}, v1, true},
		{"older", wire.GetOK{Found: true, Object: v1}, v2, true},
		{"current", wire.GetOK{Found: true, Object: v2}, v2, false},
	} {
		if got := stale(tc.got, tc.merged); got != tc.want {
			t.Errorf("%s: stale = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Background work asked for after Close never starts, so Close's wait
// cannot be joined by a goroutine it did not see.
func TestSpawnAfterCloseDoesNotRun(t *testing.T) {
	c := &Client{}
	var ran atomic.Bool
	if !c.spawn(func() { ran.Store(true) }) {
		t.Fatal("spawn refused before Close")
	}
	c.wg.Wait()
	if !ran.Load() {
		t.Fatal("spawned work did not run")
	}
	ran.Store(false)
	c.closed.Store(true)
	if c.spawn(func() { ran.Store(true) }) {
		t.Fatal("spawn accepted work after Close")
	}
	c.wg.Wait()
	if ran.Load() {
		t.Fatal("work spawned after Close ran")
	}
}

// A hinted stand-in coordinates only after every primary slot: with a down,
// the write goes to b first even though a's stand-in holds slot 0.
func TestCoordinationOrderPrefersPrimaries(t *testing.T) {
	prim, fall := nodes("a", "b", "c"), nodes("d", "e")
	for _, tc := range []struct {
		down []string
		want []int
	}{
		{nil, []int{0, 1, 2}},
		{[]string{"a"}, []int{1, 2, 0}},
		{[]string{"a", "c"}, []int{1, 0, 2}},
		// No spare for c: it keeps its slot and, believed down, goes last.
		{[]string{"a", "b", "c"}, []int{0, 1, 2}},
		{[]string{"a", "b", "c", "d", "e"}, []int{0, 1, 2}},
	} {
		p := newPlan(prim, fall, downSet(tc.down...))
		if got := p.coordinationOrder(); !slices.Equal(got, tc.want) {
			t.Errorf("down %v: slots %v, order %v, want %v", tc.down, slotStrings(p), got, tc.want)
		}
	}
}

// A fallback a read asks beyond the slots is neither a primary (it must not
// count toward PR, nor get read repair as if it owned the key) nor a
// stand-in.
func TestReadSpareIsNotPrimary(t *testing.T) {
	p := newPlan(nodes("a", "b", "c"), nodes("d", "e"), downSet("a"))
	if got := slotStrings(p); !slices.Equal(got, []string{"d>a", "b", "c"}) {
		t.Fatalf("slots %v", got)
	}
	sp, ok := p.takeSpare()
	if !ok || sp.node.ID != "e" {
		t.Fatalf("spare %v, %v; want e", sp.node.ID, ok)
	}
	if sp.primary() {
		t.Error("a read's spare counts as a primary")
	}
	if sp.hintFor != "" {
		t.Errorf("a read's spare names %q as its owner", sp.hintFor)
	}
}

// The message names the requirement that was missed.
func TestQuorumErrorSaysWhatFellShort(t *testing.T) {
	for _, tc := range []struct {
		e    *QuorumError
		want string
	}{
		{&QuorumError{Op: "get", Needed: 3, Acked: 3, NeededPrimary: 3, AckedPrimary: 2},
			"driver: get: only 2 of 3 primaries needed answered (3 of 3 replicas needed did)"},
		{&QuorumError{Op: "put", Needed: 2, Acked: 1},
			"driver: put: only 1 of 2 replicas needed answered; the write was not applied"},
		{&QuorumError{Op: "get", Needed: 2, Acked: 0, Causes: []ReplicaError{{Node: callWide, Err: context.DeadlineExceeded}}},
			"driver: get: only 0 of 2 replicas needed answered (the call as a whole: context deadline exceeded)"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// A read's candidates end with the primaries believed down, as primaries:
// a stale belief must not make PR impossible.
func TestReadCandidatesEndWithReplacedPrimaries(t *testing.T) {
	p := newPlan(nodes("a", "b", "c"), nodes("d", "e", "f"), downSet("a", "c", "f"))
	var got []string
	for _, c := range p.readCandidates() {
		s := string(c.node.ID)
		switch {
		case c.hintFor != "":
			s += ">" + string(c.hintFor)
		case c.spare:
			s += "(spare)"
		}
		got = append(got, s)
	}
	want := []string{"d>a", "b", "e>c", "f(spare)", "a", "c"}
	if !slices.Equal(got, want) {
		t.Fatalf("candidates %v, want %v", got, want)
	}
}
