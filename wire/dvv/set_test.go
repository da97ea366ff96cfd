package dvv

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// write is one step of a scripted history: actor coordinates value under the
// context of the state named ctxFrom (-1: no context).
type write struct {
	actor   Actor
	ctxFrom int
	value   string
	tomb    bool
}

func TestUpdate(t *testing.T) {
	tests := []struct {
		name   string
		writes []write // state i+1 is the result of writes[i] applied to state i
		want   Set
		values []string
	}{
		{
			name:   "first write",
			writes: []write{{n1, -1, "a", false}},
			want:   Set{Siblings: []Sibling{sib(n1, 1, "a")}, VV: VV{{n1, 1}}},
			values: []string{"a"},
		},
		{
			name:   "fresh context replaces",
			writes: []write{{n1, -1, "a", false}, {n1, 1, "b", false}},
			want:   Set{Siblings: []Sibling{sib(n1, 2, "b")}, VV: VV{{n1, 2}}},
			values: []string{"b"},
		},
		{
			name:   "same stale context twice leaves two siblings",
			writes: []write{{n1, -1, "a", false}, {n1, 1, "b", false}, {n1, 1, "c", false}},
			want:   Set{Siblings: []Sibling{sib(n1, 2, "b"), sib(n1, 3, "c")}, VV: VV{{n1, 3}}},
			values: []string{"b", "c"},
		},
		{
			name:   "blind write is concurrent",
			writes: []write{{n1, -1, "a", false}, {n1, -1, "b", false}},
			want:   Set{Siblings: []Sibling{sib(n1, 1, "a"), sib(n1, 2, "b")}, VV: VV{{n1, 2}}},
			values: []string{"a", "b"},
		},
		{
			name:   "write with the merged context resolves siblings",
			writes: []write{{n1, -1, "a", false}, {n1, -1, "b", false}, {n1, 2, "ab", false}},
			want:   Set{Siblings: []Sibling{sib(n1, 3, "ab")}, VV: VV{{n1, 3}}},
			values: []string{"ab"},
		},
		{
			name:   "delete with fresh context leaves a tombstone only",
			writes: []write{{n1, -1, "a", false}, {n1, 1, "", true}},
			want:   Set{Siblings: []Sibling{tomb(n1, 2)}, VV: VV{{n1, 2}}},
			values: nil,
		},
		{
			name:   "delete concurrent with a write keeps the write",
			writes: []write{{n1, -1, "a", false}, {n1, 1, "b", false}, {n1, 1, "", true}},
			want:   Set{Siblings: []Sibling{sib(n1, 2, "b"), tomb(n1, 3)}, VV: VV{{n1, 3}}},
			values: []string{"b"},
		},
		{
			name:   "write after delete",
			writes: []write{{n1, -1, "a", false}, {n1, 1, "", true}, {n1, 2, "c", false}},
			want:   Set{Siblings: []Sibling{sib(n1, 3, "c")}, VV: VV{{n1, 3}}},
			values: []string{"c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states := []Set{{}}
			for _, w := range tt.writes {
				var ctx VV
				if w.ctxFrom >= 0 {
					ctx = states[w.ctxFrom].Context()
				}
				var v []byte
				if w.value != "" {
					v = []byte(w.value)
				}
				next, _ := states[len(states)-1].Update(w.actor, ctx, v, w.tomb)
				mustValid(t, next)
				states = append(states, next)
			}
			got := states[len(states)-1]
			if !got.Equal(tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if vs := values(got); !slices.Equal(vs, tt.values) {
				t.Errorf("Values() = %q, want %q", vs, tt.values)
			}
			if got.Live() != (len(tt.values) > 0) {
				t.Errorf("Live() = %v with values %q", got.Live(), tt.values)
			}
		})
	}
}

func TestUpdateDotAndContextAhead(t *testing.T) {
	s := Set{Siblings: []Sibling{sib(n1, 2, "a"), sib(n2, 1, "b")}, VV: VV{{n1, 2}, {n2, 1}}}
	// The context claims n1 issued 5 events; the new dot must go beyond, or
	// the context would cover the write it carries.
	ctx := VV{{n1, 5}, {n3, 4}}
	got, d := s.Update(n1, ctx, []byte("c"), false)
	if d != dot(n1, 6) {
		t.Fatalf("dot = %v, want %v", d, dot(n1, 6))
	}
	want := Set{Siblings: []Sibling{sib(n1, 6, "c"), sib(n2, 1, "b")}, VV: VV{{n1, 6}, {n2, 1}, {n3, 4}}}
	if !got.Equal(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	mustValid(t, got)
}

func TestUpdateSiblingOrder(t *testing.T) {
	// The new sibling goes between other actors' siblings in dot order.
	s := Set{Siblings: []Sibling{sib(n1, 1, "a"), sib(n3, 1, "c")}, VV: VV{{n1, 1}, {n2, 7}, {n3, 1}}}
	got, d := s.Update(n2, nil, []byte("b"), false)
	if d != dot(n2, 8) {
		t.Fatalf("dot = %v", d)
	}
	mustValid(t, got)
	if vs := values(got); !slices.Equal(vs, []string{"a", "b", "c"}) {
		t.Errorf("Values() = %q", vs)
	}
}

func TestUpdateIsPure(t *testing.T) {
	s := Set{Siblings: []Sibling{sib(n1, 1, "a"), sib(n2, 1, "b")}, VV: VV{{n1, 1}, {n2, 1}}}
	s.Siblings = slices.Grow(s.Siblings, 4) // spare capacity an append could reuse
	before := deepClone(s)
	ctx := VV{{n2, 1}}
	value := []byte("v")
	got, _ := s.Update(n1, ctx, value, false)
	value[0] = 'X' // the caller reuses its buffer
	got.Siblings[0].Dot.Counter = 42
	got.VV[0].Counter = 42
	if !s.Equal(before) {
		t.Errorf("Update modified its receiver: %+v", s)
	}
	if !ctx.Equal(VV{{n2, 1}}) {
		t.Errorf("Update modified ctx: %v", ctx)
	}
	if string(got.Siblings[1].Value) != "v" {
		t.Errorf("Update kept the caller's value buffer: %q", got.Siblings[1].Value)
	}
	c := s.Context()
	c[0].Counter = 42
	if !s.Equal(before) {
		t.Error("Context shares memory with the set")
	}
}

func TestNextDotExhausted(t *testing.T) {
	s := Set{VV: VV{{n1, 1}}}
	ctx := VV{{n1, math.MaxUint64}}
	if _, err := s.NextDot(n1, ctx); !errors.Is(err, ErrExhausted) {
		t.Fatalf("NextDot = %v, want ErrExhausted", err)
	}
	if d, err := s.NextDot(n2, ctx); err != nil || d != dot(n2, 1) {
		t.Fatalf("NextDot(n2) = %v, %v", d, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Update with an exhausted counter did not panic")
		}
	}()
	s.Update(n1, ctx, nil, false)
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name    string
		a, b    Set
		want    Set
		wantVal []string
	}{
		{
			name: "empty",
		},
		{
			name: "one side empty",
			a:    Set{Siblings: []Sibling{sib(n1, 1, "a")}, VV: VV{{n1, 1}}},
			want: Set{Siblings: []Sibling{sib(n1, 1, "a")}, VV: VV{{n1, 1}}},
		},
		{
			name: "concurrent writes at two coordinators",
			a:    Set{Siblings: []Sibling{sib(n1, 1, "a")}, VV: VV{{n1, 1}}},
			b:    Set{Siblings: []Sibling{sib(n2, 1, "b")}, VV: VV{{n2, 1}}},
			want: Set{Siblings: []Sibling{sib(n1, 1, "a"), sib(n2, 1, "b")}, VV: VV{{n1, 1}, {n2, 1}}},
		},
		{
			name: "newer replaces what it saw",
			a:    Set{Siblings: []Sibling{sib(n1, 1, "a")}, VV: VV{{n1, 1}}},
			b:    Set{Siblings: []Sibling{sib(n2, 1, "b")}, VV: VV{{n1, 1}, {n2, 1}}},
			want: Set{Siblings: []Sibling{sib(n2, 1, "b")}, VV: VV{{n1, 1}, {n2, 1}}},
		},
		{
			name: "shared dot kept once",
			a:    Set{Siblings: []Sibling{sib(n1, 1, "a"), sib(n1, 2, "x")}, VV: VV{{n1, 2}}},
			b:    Set{Siblings: []Sibling{sib(n1, 2, "x"), sib(n2, 1, "y")}, VV: VV{{n1, 2}, {n2, 1}}},
			want: Set{Siblings: []Sibling{sib(n1, 2, "x"), sib(n2, 1, "y")}, VV: VV{{n1, 2}, {n2, 1}}},
		},
		{
			name: "tombstone wins over what it saw, not over what it did not",
			a:    Set{Siblings: []Sibling{sib(n1, 1, "a"), sib(n3, 1, "c")}, VV: VV{{n1, 1}, {n3, 1}}},
			b:    Set{Siblings: []Sibling{tomb(n2, 1)}, VV: VV{{n1, 1}, {n2, 1}}},
			want: Set{Siblings: []Sibling{tomb(n2, 1), sib(n3, 1, "c")}, VV: VV{{n1, 1}, {n2, 1}, {n3, 1}}},
		},
		{
			name: "conflicting contents for one dot pick deterministically",
			a:    Set{Siblings: []Sibling{sib(n1, 1, "b")}, VV: VV{{n1, 1}}},
			b:    Set{Siblings: []Sibling{sib(n1, 1, "a")}, VV: VV{{n1, 1}}},
			want: Set{Siblings: []Sibling{sib(n1, 1, "a")}, VV: VV{{n1, 1}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ab, ba := Merge(tt.a, tt.b), Merge(tt.b, tt.a)
			if !ab.Equal(tt.want) {
				t.Errorf("Merge(a, b) = %+v\nwant %+v", ab, tt.want)
			}
			if !ba.Equal(tt.want) {
				t.Errorf("Merge(b, a) = %+v\nwant %+v", ba, tt.want)
			}
			mustValid(t, ab)
			if !Merge(ab, ab).Equal(ab) || !Merge(ab, tt.a).Equal(ab) {
				t.Error("merge not idempotent")
			}
		})
	}
}

func TestMergeIsPure(t *testing.T) {
	a := Set{Siblings: []Sibling{sib(n1, 1, "a")}, VV: VV{{n1, 1}}}
	b := Set{Siblings: []Sibling{sib(n2, 1, "b")}, VV: VV{{n2, 1}}}
	ac, bc := deepClone(a), deepClone(b)
	m := Merge(a, b)
	m.Siblings[0].Dot.Counter = 9
	m.VV[0].Counter = 9
	if !a.Equal(ac) || !b.Equal(bc) {
		t.Error("Merge result shares memory with its inputs")
	}
}

func TestSetValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Set
		ok   bool
	}{
		{"zero", Set{}, true},
		{"ok", Set{Siblings: []Sibling{sib(n1, 1, "a"), sib(n2, 3, "b")}, VV: VV{{n1, 1}, {n2, 3}}}, true},
		{"uncovered", Set{Siblings: []Sibling{sib(n1, 2, "a")}, VV: VV{{n1, 1}}}, false},
		{"uncovered actor", Set{Siblings: []Sibling{sib(n2, 1, "a")}, VV: VV{{n1, 1}}}, false},
		{"unsorted", Set{Siblings: []Sibling{sib(n2, 1, "b"), sib(n1, 1, "a")}, VV: VV{{n1, 1}, {n2, 1}}}, false},
		{"duplicate dot", Set{Siblings: []Sibling{sib(n1, 1, "a"), sib(n1, 1, "a")}, VV: VV{{n1, 1}}}, false},
		{"zero counter dot", Set{Siblings: []Sibling{sib(n1, 0, "a")}, VV: VV{{n1, 1}}}, false},
		{"bad vv", Set{VV: VV{{n1, 0}}}, false},
	}
	for _, tt := range tests {
		err := tt.s.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not wrap ErrInvalid", tt.name, err)
		}
	}
}

func TestConcurrentCoordinators(t *testing.T) {
	// x is written at n1 and replicated to n2. Two clients read x and write
	// through different coordinators with that same context.
	x, _ := Set{}.Update(n1, nil, []byte("x"), false)
	a, b := x, Merge(Set{}, x)
	a, _ = a.Update(n1, x.Context(), []byte("a"), false)
	b, _ = b.Update(n2, x.Context(), []byte("b"), false)
	m := Merge(a, b)
	mustValid(t, m)
	if vs := values(m); !slices.Equal(vs, []string{"a", "b"}) {
		t.Fatalf("Values() = %q, want [a b]", vs)
	}
	// A client that read both resolves them.
	r, _ := m.Update(n2, m.Context(), []byte("ab"), false)
	for _, s := range []Set{Merge(a, r), Merge(r, b), Merge(Merge(a, b), r)} {
		if vs := values(s); !slices.Equal(vs, []string{"ab"}) {
			t.Errorf("after resolution Values() = %q, want [ab]", vs)
		}
	}
}
