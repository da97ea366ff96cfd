package setvalue

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestEncodeGolden(t *testing.T) {
	tests := []struct {
		name string
		set  Set
		hex  string
	}{
		{"empty", Set{}, "01" + "0000000000000000" + "00"},
		{"one element, negative stamp", Set{Elements: []uint64{5}, Stamp: -1}, "01" + "ffffffffffffffff" + "01" + "05"},
		{"deltas", Set{Elements: []uint64{300, 1, 2}, Stamp: 0x0102030405060708}, "01" + "0102030405060708" + "03" + "01" + "01" + "aa02"},
		{"repeats collapse", Set{Elements: []uint64{7, 7, 7}}, "01" + "0000000000000000" + "01" + "07"},
		{"extremes", Set{Elements: []uint64{math.MaxUint64, 0}}, "01" + "0000000000000000" + "02" + "00" + "ffffffffffffffffff01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.set.Elements)
			got := tt.set.Encode()
			if hex.EncodeToString(got) != tt.hex {
				t.Fatalf("Encode = %x, want %s", got, tt.hex)
			}
			if !slices.Equal(tt.set.Elements, in) {
				t.Fatal("Encode modified its receiver's elements")
			}
			dec, err := Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Compact(slices.Sorted(slices.Values(in)))
			if dec.Stamp != tt.set.Stamp || !slices.Equal(dec.Elements, want) || dec.Elements == nil {
				t.Fatalf("Decode = %+v, want %v stamped %d", dec, want, tt.set.Stamp)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	hdr := "01" + "0000000000000000"
	tests := []struct {
		name, hex, want string
	}{
		{"empty input", "", "at byte 0: 0 bytes, shorter than the 10-byte minimum"},
		{"header only", hdr, "shorter than"},
		{"unknown version", "02" + "0000000000000000" + "00", "at byte 0: version 2, want 1"},
		{"count truncated", hdr + "80", "at byte 9: element count: truncated varint"},
		{"count not minimal", hdr + "8000", "at byte 9: element count: varint not minimally encoded"},
		{"count beyond input", hdr + "05" + "0102", "at byte 10: element count 5 exceeds the 2 bytes left"},
		{"huge count", hdr + "ffffffffffffffff7f", "exceeds the 0 bytes left"},
		{"element truncated", hdr + "02" + "01" + "81", "at byte 11: element 1: truncated varint"},
		{"element not minimal", hdr + "01" + "8100", "at byte 10: element 0: varint not minimally encoded"},
		{"element varint overflow", hdr + "01" + "ffffffffffffffffff02", "element 0: varint overflows uint64"},
		{"repeat", hdr + "02" + "05" + "00", "at byte 11: element 1 repeats element 0"},
		{"sum overflows", hdr + "02" + "ffffffffffffffffff01" + "01", "at byte 20: element 1 overflows uint64"},
		{"trailing", hdr + "01" + "05" + "00", "at byte 11: 1 trailing bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Decode(b)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode(%s) = %+v, %v; want ErrCorrupt saying %q", tt.hex, s, err, tt.want)
			}
		})
	}
}

// randomSet draws up to maxLen elements, dense or sparse.
func randomSet(rng *rand.Rand, maxLen int) Set {
	s := Set{Stamp: rng.Int64() - rng.Int64()}
	span := uint64(1) << rng.IntN(64)
	for range rng.IntN(maxLen + 1) {
		s.Elements = append(s.Elements, rng.Uint64N(span))
	}
	return s
}

func TestRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		s := randomSet(rng, 40)
		enc := s.Encode()
		dec, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", s, err)
		}
		want := slices.Compact(slices.Sorted(slices.Values(s.Elements)))
		if dec.Stamp != s.Stamp || !slices.Equal(dec.Elements, want) {
			t.Fatalf("round trip of %+v gave %+v", s, dec)
		}
		shuffled := slices.Clone(s.Elements)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := (Set{Elements: shuffled, Stamp: s.Stamp}).Encode(); !bytes.Equal(again, enc) {
			t.Fatalf("encoding depends on element order: %x vs %x", again, enc)
		}
	}
}

// FuzzDecode: Decode never panics, and accepts only canonical encodings.
func FuzzDecode(f *testing.F) {
	f.Add(Set{}.Encode())
	f.Add(Set{Elements: []uint64{1, 2, 300, math.MaxUint64}, Stamp: 42}.Encode())
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if !slices.IsSorted(s.Elements) || len(slices.Compact(slices.Clone(s.Elements))) != len(s.Elements) {
			t.Fatalf("decoded elements %v not strictly ascending", s.Elements)
		}
		if enc := s.Encode(); !bytes.Equal(enc, b) {
			t.Fatalf("accepted a non-canonical encoding %x (canonical %x)", b, enc)
		}
	})
}
