package dvv

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func sampleSet() Set {
	s, _ := Set{}.Update(n1, nil, []byte("a"), false)
	s, _ = s.Update(n2, nil, bytes.Repeat([]byte("b"), 300), false)
	s, _ = s.Update(Actor{Node: "n3", Epoch: math.MaxUint64}, nil, nil, true)
	s, _ = s.Update(n1, VV{{Actor{Node: "n0", Epoch: 1}, 200}}, []byte{}, false)
	return s
}

func TestRoundTrip(t *testing.T) {
	sets := []Set{{}, sampleSet()}
	big := Set{}
	for i := range 40 {
		big, _ = big.Update(Actor{Node: string(rune('a' + i%26)), Epoch: uint64(i)}, nil, make([]byte, 70000*(i%2)), false)
	}
	sets = append(sets, big)
	for _, s := range sets {
		b, err := EncodeSet(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != s.Size() {
			t.Errorf("Size() = %d, encoding has %d bytes", s.Size(), len(b))
		}
		got, err := DecodeSet(b)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(s) {
			t.Errorf("round trip: got %+v\nwant %+v", got, s)
		}
		vb, err := EncodeVV(s.VV)
		if err != nil {
			t.Fatal(err)
		}
		vv, err := DecodeVV(vb)
		if err != nil || !vv.Equal(s.VV) {
			t.Errorf("vv round trip: %v, %v", vv, err)
		}
	}
}

// TestSizeExact checks Size against the encoding at every msgpack length
// boundary.
func TestSizeExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	pick := func(xs ...int) int { return xs[rng.IntN(len(xs))] }
	uints := []uint64{1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64}
	for range 300 {
		var s Set
		nActors := pick(1, 2, 15, 16, 17)
		for i := range nActors {
			id := fmt.Sprintf("%02d", i)
			node := strings.Repeat("n", pick(2, 31, 32, 255, 256)-len(id)) + id
			a := Actor{Node: node, Epoch: uints[rng.IntN(len(uints))]}
			s.VV = append(s.VV, Entry{a, max(uints[rng.IntN(len(uints))], 20)})
		}
		slices.SortFunc(s.VV, func(x, y Entry) int { return x.Actor.Compare(y.Actor) })
		for _, e := range s.VV {
			for k := range uint64(pick(0, 1, 2, 15, 16)) {
				value := make([]byte, pick(0, 1, 255, 256))
				if rng.IntN(16) == 0 {
					value = make([]byte, pick(65535, 65536))
				}
				s.Siblings = append(s.Siblings, Sibling{Dot: Dot{e.Actor, e.Counter - k}, Value: value})
			}
		}
		slices.SortFunc(s.Siblings, func(x, y Sibling) int { return x.Dot.Compare(y.Dot) })
		if len(s.Siblings) > MaxDecodeSiblings {
			continue
		}
		b, err := EncodeSet(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != s.Size() {
			t.Fatalf("Size() = %d, encoding has %d bytes", s.Size(), len(b))
		}
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	b, err := EncodeSet(sampleSet())
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeSet(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if !s.Equal(sampleSet()) {
		t.Error("decoded set aliases its input")
	}
}

// message mimics a wire message: the types are used as fields and decoded
// by reflection.
type message struct {
	_msgpack struct{} `msgpack:",as_array"` // v5 reads struct options from a field named _msgpack
	Context  VV
	Object   Set
	Dot      Dot
}

func TestReflectionFields(t *testing.T) {
	in := message{Context: VV{{n1, 4}}, Object: sampleSet(), Dot: dot(n2, 3)}
	for _, v := range []any{in, &in} { // by value too: encoders have value receivers
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%T): %v", v, err)
		}
		if b[0] != 0x93 {
			t.Fatalf("Marshal(%T) did not make an array: % .8x", v, b)
		}
		var out message
		if err := msgpack.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if !out.Context.Equal(in.Context) || !out.Object.Equal(in.Object) || out.Dot != in.Dot {
			t.Errorf("round trip: %+v", out)
		}
	}
	bad := message{Object: Set{Siblings: []Sibling{sib(n1, 2, "x")}}, Dot: dot(n1, 1)}
	if _, err := msgpack.Marshal(&bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("Marshal of an invalid set: %v, want ErrInvalid", err)
	}
	// A field that is a valid Set of the wrong shape fails strictly.
	b, _ := msgpack.Marshal([]any{[]any{}, []any{[]any{}, []any{}, 1}, []any{[]any{"n1", 1}, 1}})
	var out message
	if err := msgpack.Unmarshal(b, &out); !errors.Is(err, ErrMalformed) {
		t.Errorf("Unmarshal of a 3-field set: %v, want ErrMalformed", err)
	}
}

func TestEncodeRefuses(t *testing.T) {
	long := Actor{Node: string(make([]byte, MaxActorNode+1)), Epoch: 1}
	tooMany := make(VV, MaxDecodeEntries+1)
	for i := range tooMany {
		tooMany[i] = Entry{Actor{Node: "n", Epoch: uint64(i)}, 1}
	}
	manySibs := Set{VV: VV{{n1, MaxDecodeSiblings + 1}}}
	for i := range MaxDecodeSiblings + 1 {
		manySibs.Siblings = append(manySibs.Siblings, sib(n1, uint64(i+1), ""))
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"unsorted vv", errOf(EncodeVV(VV{{n2, 1}, {n1, 1}})), ErrInvalid},
		{"uncovered sibling", errOf(EncodeSet(Set{Siblings: []Sibling{sib(n1, 1, "")}})), ErrInvalid},
		{"long node", errOf(EncodeVV(VV{{long, 1}})), ErrInvalid},
		{"too many entries", errOf(EncodeVV(tooMany)), ErrLimit},
		{"too many siblings", errOf(EncodeSet(manySibs)), ErrLimit},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.want)
		}
	}
}

func errOf(_ []byte, err error) error { return err }

func TestDecodeRejects(t *testing.T) {
	valid := sampleSet()
	validBytes, _ := EncodeSet(valid)
	actor := []byte{0x92, 0xa2, 'n', '1', 0x01} // ["n1", 1]
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	vvTests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty input", nil, ErrMalformed},
		{"nil", []byte{0xc0}, ErrMalformed},
		{"map", []byte{0x80}, ErrMalformed},
		{"nil entry", []byte{0x91, 0xc0}, ErrMalformed},
		{"nil actor", []byte{0x91, 0x92, 0xc0, 0x01}, ErrMalformed},
		{"nil counter", cat([]byte{0x91, 0x92}, actor, []byte{0xc0}), ErrMalformed},
		{"nil node", []byte{0x91, 0x92, 0x92, 0xc0, 0x01, 0x01}, ErrMalformed},
		{"bin node", []byte{0x91, 0x92, 0x92, 0xc4, 0x01, 'n', 0x01, 0x01}, ErrMalformed},
		{"negative counter", cat([]byte{0x91, 0x92}, actor, []byte{0xff}), ErrMalformed},
		{"signed counter", cat([]byte{0x91, 0x92}, actor, []byte{0xd0, 0x01}), ErrMalformed},
		{"float counter", cat([]byte{0x91, 0x92}, actor, []byte{0xca, 0, 0, 0, 0}), ErrMalformed},
		{"entry with 3 fields", cat([]byte{0x91, 0x93}, actor, []byte{0x01, 0x01}), ErrMalformed},
		{"entry with 1 field", cat([]byte{0x91, 0x91}, actor), ErrMalformed},
		{"actor with 3 fields", []byte{0x91, 0x92, 0x93, 0xa1, 'n', 0x01, 0x01, 0x01}, ErrMalformed},
		{"truncated", cat([]byte{0x92, 0x92}, actor, []byte{0x01}), ErrMalformed},
		{"trailing bytes", cat([]byte{0x91, 0x92}, actor, []byte{0x01, 0x00}), ErrMalformed},
		{"two vvs", []byte{0x90, 0x90}, ErrMalformed},
		{"count over cap", []byte{0xdc, 0x10, 0x01}, ErrLimit},                // array16 of 4097
		{"count over cap 32", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, ErrLimit}, // array32 of 2^32-1
		{"node over cap", []byte{0x91, 0x92, 0x92, 0xda, 0x01, 0x01}, ErrLimit},
		{"unsorted", rawVV(t, VV{{n2, 1}, {n1, 1}}), ErrInvalid},
		{"duplicate actor", rawVV(t, VV{{n1, 1}, {n1, 2}}), ErrInvalid},
		{"zero counter", rawVV(t, VV{{n1, 0}}), ErrInvalid},
		{"empty node", rawVV(t, VV{{Actor{"", 1}, 1}}), ErrInvalid},
	}
	for _, tt := range vvTests {
		v, err := DecodeVV(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("DecodeVV %s (% .24x): %v, want %v", tt.name, tt.in, err, tt.want)
		}
		if v != nil {
			t.Errorf("DecodeVV %s returned %v with an error", tt.name, v)
		}
	}

	dotBytes := cat([]byte{0x92}, actor, []byte{0x01}) // [["n1", 1], 1]
	setTests := []struct {
		name string
		in   []byte
		want error
	}{
		{"nil", []byte{0xc0}, ErrMalformed},
		{"nil siblings", []byte{0x92, 0xc0, 0x90}, ErrMalformed},
		{"nil vv", []byte{0x92, 0x90, 0xc0}, ErrMalformed},
		{"nil sibling", []byte{0x92, 0x91, 0xc0, 0x90}, ErrMalformed},
		{"nil dot", []byte{0x92, 0x91, 0x93, 0xc0, 0xc4, 0x00, 0xc2, 0x90}, ErrMalformed},
		{"nil value", cat([]byte{0x92, 0x91, 0x93}, dotBytes, []byte{0xc0, 0xc2, 0x90}), ErrMalformed},
		{"str value", cat([]byte{0x92, 0x91, 0x93}, dotBytes, []byte{0xa0, 0xc2, 0x90}), ErrMalformed},
		{"nil tombstone", cat([]byte{0x92, 0x91, 0x93}, dotBytes, []byte{0xc4, 0x00, 0xc0, 0x90}), ErrMalformed},
		{"int tombstone", cat([]byte{0x92, 0x91, 0x93}, dotBytes, []byte{0xc4, 0x00, 0x01, 0x90}), ErrMalformed},
		{"sibling with 2 fields", cat([]byte{0x92, 0x91, 0x92}, dotBytes, []byte{0xc4, 0x00, 0x90}), ErrMalformed},
		{"set with 1 field", []byte{0x91, 0x90}, ErrMalformed},
		{"set with 3 fields", []byte{0x93, 0x90, 0x90, 0x90}, ErrMalformed},
		{"value longer than input", cat([]byte{0x92, 0x91, 0x93}, dotBytes, []byte{0xc6, 0x40, 0, 0, 0, 'x'}), ErrMalformed},
		{"trailing bytes", append(bytes.Clone(validBytes), 0xc0), ErrMalformed},
		{"siblings over cap", []byte{0x92, 0xdc, 0x04, 0x01}, ErrLimit}, // array16 of 1025
		{"vv over cap", []byte{0x92, 0x90, 0xdc, 0xff, 0xff}, ErrLimit},
		{"uncovered sibling", rawSet(t, Set{Siblings: []Sibling{sib(n1, 2, "x")}, VV: VV{{n1, 1}}}), ErrInvalid},
		{"unsorted siblings", rawSet(t, Set{Siblings: []Sibling{sib(n2, 1, ""), sib(n1, 1, "")}, VV: VV{{n1, 1}, {n2, 1}}}), ErrInvalid},
		{"duplicate dot", rawSet(t, Set{Siblings: []Sibling{sib(n1, 1, "a"), sib(n1, 1, "b")}, VV: VV{{n1, 1}}}), ErrInvalid},
		{"zero counter dot", rawSet(t, Set{Siblings: []Sibling{sib(n1, 0, "a")}, VV: VV{{n1, 1}}}), ErrInvalid},
	}
	for _, tt := range setTests {
		s, err := DecodeSet(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("DecodeSet %s (% .24x): %v, want %v", tt.name, tt.in, err, tt.want)
		}
		if !s.Equal(Set{}) {
			t.Errorf("DecodeSet %s returned %+v with an error", tt.name, s)
		}
	}

	// Every strict prefix of a valid encoding is rejected.
	for i := range validBytes {
		if _, err := DecodeSet(validBytes[:i]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix of %d bytes: %v, want ErrMalformed", i, err)
		}
	}
}

func TestDecodeMethodsRejectNil(t *testing.T) {
	tests := []struct {
		name   string
		target msgpack.CustomDecoder
		zero   []byte // the encoding of the zero value, which is invalid
	}{
		{"actor", &Actor{}, []byte{0x92, 0xa0, 0x01}},
		{"dot", &Dot{}, []byte{0x92, 0x92, 0xa1, 'n', 0x01, 0x00}},
		{"entry", &Entry{}, []byte{0x92, 0x92, 0xa1, 'n', 0x01, 0x00}},
		{"sibling", &Sibling{}, []byte{0x93, 0x92, 0x92, 0xa1, 'n', 0x01, 0x00, 0xc4, 0x00, 0xc2}},
		{"vv", &VV{}, nil},
		{"set", &Set{}, nil},
	}
	for _, tt := range tests {
		if err := tt.target.DecodeMsgpack(msgpack.NewDecoder(bytes.NewReader([]byte{0xc0}))); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: decoding nil: %v, want ErrMalformed", tt.name, err)
		}
		if tt.zero == nil {
			continue
		}
		if err := tt.target.DecodeMsgpack(msgpack.NewDecoder(bytes.NewReader(tt.zero))); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: decoding a zero value: %v, want ErrInvalid", tt.name, err)
		}
	}
}

// TestDecodeAllocationBounded checks that declared counts and lengths the
// input does not back allocate little.
func TestDecodeAllocationBounded(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		limit uint64 // bytes allocated per decode
	}{
		{"vv declaring the cap", []byte{0xdc, 0x10, 0x00}, 4 << 10},
		{"set declaring the sibling cap", []byte{0x92, 0xdc, 0x04, 0x00}, 4 << 10},
		{"value declaring 1 GiB", []byte{0x92, 0x91, 0x93, 0x92, 0x92, 0xa1, 'n', 0x01, 0x01, 0xc6, 0x40, 0, 0, 0}, 2 * valueChunk},
	}
	for _, tt := range tests {
		const runs = 200
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range runs {
			if _, err := DecodeSet(tt.in); err == nil {
				t.Fatalf("%s: decoded", tt.name)
			}
			if _, err := DecodeVV(tt.in); err == nil {
				t.Fatalf("%s: decoded", tt.name)
			}
		}
		runtime.ReadMemStats(&after)
		if per := (after.TotalAlloc - before.TotalAlloc) / (2 * runs); per > tt.limit {
			t.Errorf("%s: %d bytes allocated per decode, want at most %d", tt.name, per, tt.limit)
		}
	}
}
