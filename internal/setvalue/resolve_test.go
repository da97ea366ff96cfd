package setvalue

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func enc(stamp int64, elems ...uint64) []byte { return Set{Elements: elems, Stamp: stamp}.Encode() }

func decode(t *testing.T, b []byte) Set {
	t.Helper()
	s, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestResolvers(t *testing.T) {
	tests := []struct {
		name     string
		siblings [][]byte
		add      uint64
		union    []uint64
		lww      []uint64
	}{
		{"key does not exist", nil, 4, []uint64{4}, []uint64{4}},
		{"one sibling", [][]byte{enc(1, 1, 2)}, 3, []uint64{1, 2, 3}, []uint64{1, 2, 3}},
		{"element already present", [][]byte{enc(1, 1, 2)}, 2, []uint64{1, 2}, []uint64{1, 2}},
		{"concurrent adds: lww keeps the newest", [][]byte{enc(5, 1, 2), enc(9, 1, 3), enc(7, 1, 4)}, 10,
			[]uint64{1, 2, 3, 4, 10}, []uint64{1, 3, 10}},
		{"stamp tie goes to the larger encoding", [][]byte{enc(5, 1, 2), enc(5, 1, 3)}, 10,
			[]uint64{1, 2, 3, 10}, []uint64{1, 3, 10}},
		{"newest is a superset: nothing lost", [][]byte{enc(1, 1), enc(2, 1, 2)}, 3,
			[]uint64{1, 2, 3}, []uint64{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := Union(tt.siblings, tt.add, 100)
			if err != nil {
				t.Fatal(err)
			}
			if s := decode(t, u); !slices.Equal(s.Elements, tt.union) || s.Stamp != 100 {
				t.Errorf("Union = %+v, want %v stamped 100", s, tt.union)
			}
			l, err := LastWriteWins(tt.siblings, tt.add, 100)
			if err != nil {
				t.Fatal(err)
			}
			if s := decode(t, l); !slices.Equal(s.Elements, tt.lww) || s.Stamp != 100 {
				t.Errorf("LastWriteWins = %+v, want %v stamped 100", s, tt.lww)
			}
		})
	}
}

func TestResolversRejectCorruptSiblings(t *testing.T) {
	sibs := [][]byte{enc(1, 1), []byte("not a set")}
	for name, fn := range map[string]func([][]byte, uint64, int64) ([]byte, error){
		"Union": Union, "LastWriteWins": LastWriteWins,
	} {
		out, err := fn(sibs, 2, 3)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "(sibling 2 of 2)") || out != nil {
			t.Errorf("%s: %x, %v; want ErrCorrupt naming sibling 2 of 2", name, out, err)
		}
	}
}

// TestUnionNeverDropsProperty: for random siblings, Union's result is
// exactly the union of every sibling plus the added element, whatever the
// siblings' order; and running it again over its own output changes
// nothing (Update may run the resolver several times).
func TestUnionNeverDropsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		var sibs [][]byte
		want := map[uint64]bool{}
		for range rng.IntN(5) {
			s := randomSet(rng, 20)
			for _, e := range s.Elements {
				want[e] = true
			}
			sibs = append(sibs, s.Encode())
		}
		add := rng.Uint64N(1 << 10)
		want[add] = true
		now := rng.Int64()
		out, err := Union(sibs, add, now)
		if err != nil {
			t.Fatal(err)
		}
		got := decode(t, out)
		if len(got.Elements) != len(want) || got.Stamp != now {
			t.Fatalf("Union of %d siblings + %d: %d elements stamped %d, want %d stamped %d", len(sibs), add, len(got.Elements), got.Stamp, len(want), now)
		}
		for _, e := range got.Elements {
			if !want[e] {
				t.Fatalf("Union invented element %d", e)
			}
		}
		rng.Shuffle(len(sibs), func(i, j int) { sibs[i], sibs[j] = sibs[j], sibs[i] })
		if again, _ := Union(sibs, add, now); string(again) != string(out) {
			t.Fatal("Union depends on sibling order")
		}
		if again, _ := Union([][]byte{out}, add, now); string(again) != string(out) {
			t.Fatal("Union over its own output is not a fixed point")
		}
	}
}

// TestLastWriteWinsDropsProperty: with two or more siblings that each hold
// an element of their own, LastWriteWins keeps only the newest one's
// elements (plus the add), so it loses every other sibling's own element:
// the behaviour a set checker must catch.
func TestLastWriteWinsDropsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		n := 2 + rng.IntN(4)
		var sibs [][]byte
		newest, newestStamp := -1, int64(0)
		for i := range n {
			s := randomSet(rng, 10)
			s.Elements = append(s.Elements, 1<<40+uint64(i)) // this sibling's own element
			if newest < 0 || s.Stamp > newestStamp {
				newest, newestStamp = i, s.Stamp
			}
			sibs = append(sibs, s.Encode())
		}
		out, err := LastWriteWins(sibs, 7, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := decode(t, out)
		want := append(decode(t, sibs[newest]).Elements, 7)
		slices.Sort(want)
		if !slices.Equal(got.Elements, slices.Compact(want)) {
			t.Fatalf("LastWriteWins kept %v, want the newest sibling's %v", got.Elements, want)
		}
		for i := range n {
			if own := 1<<40 + uint64(i); i != newest && slices.Contains(got.Elements, own) {
				t.Fatalf("LastWriteWins kept element %d of losing sibling %d", own, i)
			}
		}
		rng.Shuffle(len(sibs), func(i, j int) { sibs[i], sibs[j] = sibs[j], sibs[i] })
		if again, _ := LastWriteWins(sibs, 7, 0); string(again) != string(out) {
			t.Fatal("LastWriteWins depends on sibling order")
		}
	}
}

func TestMerge(t *testing.T) {
	s, err := Merge([][]byte{enc(3, 5, 1), enc(-2, 2, 5), enc(7)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Elements, []uint64{1, 2, 5}) || s.Stamp != 7 {
		t.Fatalf("Merge = %+v", s)
	}
	if s, err := Merge(nil); err != nil || len(s.Elements) != 0 || s.Stamp != 0 {
		t.Fatalf("Merge(nil) = %+v, %v", s, err)
	}
	if s, err := Merge([][]byte{enc(-5, 1)}); err != nil || s.Stamp != -5 {
		t.Fatalf("Merge of one negative stamp = %+v, %v", s, err)
	}
}
