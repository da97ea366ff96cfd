package dvv

import (
	"errors"
	"testing"
)

// fuzzSeeds are valid encodings and near misses.
func fuzzSeeds(t testing.TB) [][]byte {
	s := sampleSet()
	set, err := EncodeSet(s)
	if err != nil {
		t.Fatal(err)
	}
	vv, err := EncodeVV(s.VV)
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := EncodeSet(Set{})
	return [][]byte{
		set, vv, empty,
		{0x90}, {0xc0}, {0x92, 0x90, 0x90},
		{0xdc, 0x10, 0x00}, {0x92, 0xdc, 0x04, 0x00},
		{0x92, 0x91, 0x93, 0x92, 0x92, 0xa1, 'n', 0x01, 0x01, 0xc6, 0x40, 0, 0, 0},
		rawVV(t, VV{{n2, 1}, {n1, 1}}),
		rawSet(t, Set{Siblings: []Sibling{sib(n1, 2, "x")}, VV: VV{{n1, 1}}}),
		append(set, 0x00),
	}
}

// checkDecodeError checks that a decode error belongs to one of the
// package's error classes.
func checkDecodeError(t *testing.T, err error) {
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrInvalid) {
		t.Fatalf("decode error of no known class: %v", err)
	}
}

func FuzzDecodeVV(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := DecodeVV(in)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if err := v.Validate(); err != nil {
			t.Fatalf("decoded an invalid vv: %v", err)
		}
		b, err := EncodeVV(v)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		w, err := DecodeVV(b)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		if !w.Equal(v) {
			t.Fatalf("round trip changed %v into %v", v, w)
		}
	})
}

func FuzzDecodeSet(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := DecodeSet(in)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded an invalid set: %v", err)
		}
		b, err := EncodeSet(s)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if len(b) != s.Size() {
			t.Fatalf("Size() = %d, encoding has %d bytes", s.Size(), len(b))
		}
		u, err := DecodeSet(b)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		if !u.Equal(s) {
			t.Fatalf("round trip changed %+v into %+v", s, u)
		}
		// Operations on decoded input keep the invariants.
		m := Merge(s, u)
		if !m.Equal(s) {
			t.Fatalf("Merge(s, s) = %+v, want %+v", m, s)
		}
		if next, err := s.NextDot(n1, s.VV); err == nil {
			up, d := s.Update(n1, s.VV, []byte("x"), false)
			if d != next {
				t.Fatalf("Update dot %v, NextDot %v", d, next)
			}
			if err := up.Validate(); err != nil {
				t.Fatalf("Update of a decoded set: %v", err)
			}
		}
	})
}
