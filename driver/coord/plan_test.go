package coord

import (
	"fmt"
	"slices"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
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

// targetString writes a target as its node, ">owner" for a stand-in,
// "(spare)" for a read's spare.
func targetString(t Target) string {
	s := string(t.Node.ID)
	switch {
	case t.HintFor != "":
		s += ">" + string(t.HintFor)
	case t.Spare:
		s += "(spare)"
	}
	return s
}

func slotStrings(p *Plan) []string {
	var out []string
	for _, t := range p.slots {
		out = append(out, targetString(t))
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
			p := NewPlan(prim, fall, downSet(tc.down...))
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
			if p.Len() != len(tc.wantSlots) {
				t.Errorf("Len = %d, want %d", p.Len(), len(tc.wantSlots))
			}
		})
	}
}

func TestPlanOrdersUpSlotsFirst(t *testing.T) {
	p := NewPlan(nodes("a", "b", "c"), nil, downSet("a"))
	if got, want := slotStrings(p), []string{"b", "c", "a"}; !slices.Equal(got, want) {
		t.Fatalf("slots = %v, want %v", got, want)
	}
}

// The plan keeps no reference to the preference list it was made from.
func TestPlanOwnsItsSlices(t *testing.T) {
	prim, fall := nodes("a", "b", "c"), nodes("d", "e")
	p := NewPlan(prim, fall, downSet("b"))
	prim[0].ID, fall[1].ID = "x", "y"
	if got := slotStrings(p); !slices.Equal(got, []string{"a", "d>b", "c"}) || p.spares[0].ID != "e" {
		t.Fatalf("slots %v, spares %v after the caller changed its slices", got, p.spares)
	}
}

func TestPlanReplaceKeepsTheOwner(t *testing.T) {
	p := NewPlan(nodes("a", "b", "c"), nodes("d", "e"), downSet())
	tg, ok := p.replace(1)
	if !ok || tg.Node.ID != "d" || tg.HintFor != "b" {
		t.Fatalf("replace(1) = %+v %v, want d holding a hint for b", tg, ok)
	}
	// A stand-in that fails in turn is replaced by one for the same owner.
	if tg, ok = p.replace(1); !ok || tg.Node.ID != "e" || tg.HintFor != "b" {
		t.Fatalf("second replace(1) = %+v %v, want e holding a hint for b", tg, ok)
	}
	if _, ok = p.replace(0); ok {
		t.Fatal("replace succeeded with no spare left")
	}
	if got := p.slot(1); got.Owner() != "b" || got.Primary() {
		t.Fatalf("slot 1 = %+v", got)
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
		p := NewPlan(prim, fall, downSet(tc.down...))
		if got := p.coordinationOrder(); !slices.Equal(got, tc.want) {
			t.Errorf("down %v: slots %v, order %v, want %v", tc.down, slotStrings(p), got, tc.want)
		}
	}
}

// A fallback a read asks beyond the slots is neither a primary (it must not
// count toward PR, nor get read repair as if it owned the key) nor a
// stand-in.
func TestReadSpareIsNotPrimary(t *testing.T) {
	p := NewPlan(nodes("a", "b", "c"), nodes("d", "e"), downSet("a"))
	if got := slotStrings(p); !slices.Equal(got, []string{"d>a", "b", "c"}) {
		t.Fatalf("slots %v", got)
	}
	sp, ok := p.takeSpare()
	if !ok || sp.Node.ID != "e" {
		t.Fatalf("spare %v, %v; want e", sp.Node.ID, ok)
	}
	if sp.Primary() {
		t.Error("a read's spare counts as a primary")
	}
	if sp.HintFor != "" {
		t.Errorf("a read's spare names %q as its owner", sp.HintFor)
	}
}

// A read's candidates end with the primaries believed down, as primaries:
// a stale belief must not make PR impossible.
func TestReadCandidatesEndWithReplacedPrimaries(t *testing.T) {
	p := NewPlan(nodes("a", "b", "c"), nodes("d", "e", "f"), downSet("a", "c", "f"))
	var got []string
	for _, c := range p.readCandidates() {
		got = append(got, targetString(c))
	}
	want := []string{"d>a", "b", "e>c", "f(spare)", "a", "c"}
	if !slices.Equal(got, want) {
		t.Fatalf("candidates %v, want %v", got, want)
	}
	if len(p.spares) != 0 {
		t.Fatalf("spares %v left in the plan after the read took them", p.spares)
	}
}
