package merkle

import (
	"errors"
	"slices"
	"testing"
)

func FuzzDecodePart(f *testing.F) {
	tr := filledTree(f, MinLeaves, 500)
	for _, p := range []Part{tr.Top(), {Leaves: MinLeaves, Level: LevelLeaf}} {
		b, _ := p.Encode()
		f.Add(b)
	}
	lp, _ := tr.LeafPart([]int{1, 3})
	b, _ := lp.Encode()
	f.Add(b)
	for _, s := range [][]byte{nil, {1}, {1, 1, 8, 1, 0, 4}, {1, 2, 18, 1, 0, 0x80, 0x80, 0x10}, {1, 1, 8, 0x80, 0x00}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := DecodePart(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error of no known class: %v", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded an invalid part: %v", err)
		}
		again, err := p.Encode()
		if err != nil {
			t.Fatalf("encode of a decoded part: %v", err)
		}
		if !slices.Equal(again, in) {
			t.Fatalf("re-encoding %x gives %x", in, again)
		}
		// A decoded part is safe to diff against a tree of any size.
		for _, leaves := range []int{MinLeaves, 4 * MinLeaves} {
			if _, err := mustNew(t, leaves).DiffPart(p); err != nil && !errors.Is(err, ErrMismatch) {
				t.Fatalf("DiffPart of a decoded part: %v", err)
			}
		}
	})
}
