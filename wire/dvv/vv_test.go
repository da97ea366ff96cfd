package dvv

import (
	"errors"
	"testing"
)

func TestActorCompareString(t *testing.T) {
	tests := []struct {
		a, b Actor
		want int
	}{
		{n1, n1, 0},
		{n1, n2, -1},
		{n2, n1, 1},
		{Actor{"n1", 1}, Actor{"n1", 2}, -1},
		{Actor{"n1", 9}, Actor{"n2", 1}, -1},
		{Actor{"n10", 0}, Actor{"n2", 0}, -1}, // bytewise, not numeric
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if got, want := (Actor{Node: "n1", Epoch: 123456789}).String(), "n1.00000000075bcd15"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := dot(n1, 7).String(), "n1.0000000000000001:7"; got != want {
		t.Errorf("Dot.String() = %q, want %q", got, want)
	}
}

func TestVVGetCovers(t *testing.T) {
	v := VV{{n1, 3}, {n3, 1}}
	for _, tt := range []struct {
		a    Actor
		want uint64
	}{{n1, 3}, {n2, 0}, {n3, 1}, {Actor{"n1", 2}, 0}} {
		if got := v.Get(tt.a); got != tt.want {
			t.Errorf("Get(%v) = %d, want %d", tt.a, got, tt.want)
		}
	}
	for _, tt := range []struct {
		d    Dot
		want bool
	}{{dot(n1, 1), true}, {dot(n1, 3), true}, {dot(n1, 4), false}, {dot(n2, 1), false}, {dot(n3, 1), true}} {
		if got := v.Covers(tt.d); got != tt.want {
			t.Errorf("Covers(%v) = %v, want %v", tt.d, got, tt.want)
		}
	}
	if VV(nil).Covers(dot(n1, 1)) {
		t.Error("empty VV covers a dot")
	}
}

func TestVVMergeDescends(t *testing.T) {
	tests := []struct {
		name       string
		v, w, want VV
		vw, wv     bool // v.Descends(w), w.Descends(v)
	}{
		{"empty", nil, nil, nil, true, true},
		{"one empty", VV{{n1, 2}}, nil, VV{{n1, 2}}, true, false},
		{"disjoint", VV{{n1, 2}}, VV{{n2, 1}}, VV{{n1, 2}, {n2, 1}}, false, false},
		{"pointwise max", VV{{n1, 2}, {n2, 5}}, VV{{n1, 3}, {n2, 1}}, VV{{n1, 3}, {n2, 5}}, false, false},
		{"dominates", VV{{n1, 3}, {n2, 1}, {n3, 1}}, VV{{n1, 3}, {n3, 1}}, VV{{n1, 3}, {n2, 1}, {n3, 1}}, true, false},
		{"equal", VV{{n1, 3}}, VV{{n1, 3}}, VV{{n1, 3}}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vc, wc := tt.v.Clone(), tt.w.Clone()
			got := tt.v.Merge(tt.w)
			if !got.Equal(tt.want) {
				t.Errorf("Merge = %v, want %v", got, tt.want)
			}
			if !tt.w.Merge(tt.v).Equal(tt.want) {
				t.Errorf("Merge not commutative")
			}
			if err := got.Validate(); err != nil {
				t.Error(err)
			}
			if len(got) > 0 {
				got[0].Counter = 99 // must not write through to the inputs
			}
			if !tt.v.Equal(vc) || !tt.w.Equal(wc) {
				t.Errorf("Merge modified its inputs: %v %v", tt.v, tt.w)
			}
			if g := tt.v.Descends(tt.w); g != tt.vw {
				t.Errorf("v.Descends(w) = %v, want %v", g, tt.vw)
			}
			if g := tt.w.Descends(tt.v); g != tt.wv {
				t.Errorf("w.Descends(v) = %v, want %v", g, tt.wv)
			}
		})
	}
}

func TestVVValidate(t *testing.T) {
	tests := []struct {
		name string
		v    VV
		ok   bool
	}{
		{"nil", nil, true},
		{"sorted", VV{{n1, 1}, {Actor{"n1", 2}, 1}, {n2, 4}}, true},
		{"unsorted", VV{{n2, 1}, {n1, 1}}, false},
		{"duplicate", VV{{n1, 1}, {n1, 2}}, false},
		{"zero counter", VV{{n1, 0}}, false},
		{"empty node", VV{{Actor{"", 1}, 1}}, false},
		{"long node", VV{{Actor{string(make([]byte, MaxActorNode+1)), 1}, 1}}, false},
	}
	for _, tt := range tests {
		err := tt.v.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v does not wrap ErrInvalid", tt.name, err)
		}
	}
}
