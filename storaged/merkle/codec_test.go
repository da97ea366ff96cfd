package merkle

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func filledTree(tb testing.TB, leaves, keys int) *Tree {
	t := mustNew(tb, leaves)
	for i := range keys {
		t.Apply(keyOf(i), mix64(uint64(i)+1))
	}
	return t
}

func TestPartRoundTrip(t *testing.T) {
	tr := filledTree(t, 1024, 3000)
	must := func(p Part, err error) Part {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name string
		p    Part
		size int // encoded bytes
	}{
		{"top", tr.Top(), 3 + 1 + 1 + 1 + 16*4},
		{"no branches", must(tr.BranchPart(nil)), 4},
		{"scattered branches", must(tr.BranchPart([]int{0, 2, 3, 15})), 3 + 1 + 3*2 + 4*4},
		{"leaves of two branches", must(tr.LeafPart([]int{1, 7})), 3 + 1 + (1 + 1) + (2 + 1) + 128*4},
		{"single leaves", must(tr.LeavesPart([]int{5, 700, 1023})), 3 + 1 + 2 + 3 + 3 + 3*4},
	} {
		b, err := c.p.Encode()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(b) != c.size {
			t.Errorf("%s: %d bytes, want %d", c.name, len(b), c.size)
		}
		got, err := DecodePart(b)
		if err != nil {
			t.Fatalf("%s: decode: %v", c.name, err)
		}
		if got.Leaves != c.p.Leaves || got.Level != c.p.Level || !slices.Equal(got.IDs, c.p.IDs) ||
			!slices.Equal(got.Hashes, c.p.Hashes) {
			t.Fatalf("%s: round trip %+v, want %+v", c.name, got, c.p)
		}
	}
	big, err := filledTree(t, MaxLeaves, 10).Top().Encode()
	if err != nil || len(big) != 3+1+1+2+4096*4 {
		t.Fatalf("top of MaxLeaves: %d bytes, %v", len(big), err)
	}
}

func TestPartEncodeRefusesInvalid(t *testing.T) {
	if _, err := (Part{Leaves: MinLeaves, Level: LevelLeaf, IDs: []int{3, 3}, Hashes: []uint32{1, 2}}).Encode(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Encode of unsorted ids: %v", err)
	}
	err := (Part{Leaves: 3, Level: 0, IDs: []int{1}}).Validate()
	for _, want := range []string{"3 leaves", "unknown level 0", "1 ids but 0 hashes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not report %q: %v", want, err)
		}
	}
}

func TestDecodePartMalformed(t *testing.T) {
	good, err := filledTree(t, MinLeaves, 100).LeavesPart([]int{1, 2, 9})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := good.Encode() // 01 02 08 | 02 | 01 02 | 06 01 | hashes
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "0 bytes"},
		{"format", []byte{2, 1, 8, 0}, "format 2"},
		{"level", []byte{1, 3, 8, 0}, "unknown level 3"},
		{"size small", []byte{1, 1, 7, 0}, "size 2^7"},
		{"size large", []byte{1, 1, 19, 0}, "size 2^19"},
		{"size huge", []byte{1, 1, 200, 0}, "size 2^200"},
		{"no run count", []byte{1, 1, 8}, "truncated"},
		{"run count over width", []byte{1, 1, 8, 5}, "run count 5 exceeds 4"},
		{"huge run count", []byte{1, 2, 8, 0xff, 0xff, 0xff, 0xff, 0x0f}, "exceeds 256"},
		{"overlong uvarint", []byte{1, 1, 8, 0x80, 0x00}, "shortest form"},
		{"missing run", []byte{1, 1, 8, 1}, "truncated"},
		{"empty run", []byte{1, 1, 8, 1, 0, 0}, "run 0 is empty"},
		{"touching runs", []byte{1, 1, 8, 2, 0, 1, 0, 1}, "gap 0"},
		{"run past width", []byte{1, 1, 8, 1, 2, 3}, "ends at id 5"},
		{"hashes short", enc[:len(enc)-1], "need 12 hash bytes, found 11"},
		{"hashes long", append(slices.Clone(enc), 0), "found 13"},
		{"declares a full level, no bytes", []byte{1, 2, 18, 1, 0, 0x80, 0x80, 0x10}, "need 1048576 hash bytes, found 0"},
	} {
		_, err := DecodePart(c.in)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrMalformed mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := DecodePart(enc); err != nil {
		t.Fatalf("negative control: the good encoding fails: %v", err)
	}
}

func TestDecodePartDoesNotAlias(t *testing.T) {
	p := filledTree(t, MinLeaves, 100).Top()
	b, _ := p.Encode()
	got, _ := DecodePart(b)
	for i := range b {
		b[i] = 0xff
	}
	if !slices.Equal(got.Hashes, p.Hashes) {
		t.Fatal("decoded part changed with its input")
	}
}

func TestPartFold(t *testing.T) {
	tr := filledTree(t, 4096, 20000)
	f, err := tr.Fold(1024)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.Top().Fold(1024)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.Top(); got.Leaves != 1024 || !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Hashes, want.Hashes) {
		t.Fatalf("folded top %+v, want %+v", got, want)
	}
	if _, err := tr.Top().Fold(8192); !errors.Is(err, ErrInvalid) {
		t.Errorf("fold up: %v", err)
	}
	lp, _ := tr.LeafPart([]int{0})
	if _, err := lp.Fold(1024); !errors.Is(err, ErrMismatch) {
		t.Errorf("fold of a partial part: %v", err)
	}
}
