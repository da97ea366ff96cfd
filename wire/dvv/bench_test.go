package dvv

import "testing"

// benchSet builds a 3-actor set with one sibling per actor and 1 KiB values.
func benchSet() Set {
	var s Set
	value := make([]byte, 1024)
	for _, a := range []Actor{n1, n2, n3} {
		s, _ = s.Update(a, nil, value, false)
	}
	return s
}

func BenchmarkMerge(b *testing.B) {
	s := benchSet()
	t, _ := s.Update(n2, VV{{n1, 1}}, []byte("resolved"), false) // concurrent with n2, n3
	b.ReportAllocs()
	for b.Loop() {
		_ = Merge(s, t)
	}
}

func BenchmarkUpdate(b *testing.B) {
	s := benchSet()
	ctx := s.Context()
	value := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Update(n1, ctx, value, false)
	}
}

func BenchmarkDecodeSet(b *testing.B) {
	enc, err := EncodeSet(benchSet())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := DecodeSet(enc); err != nil {
			b.Fatal(err)
		}
	}
}
