package member

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestCodecRoundTrip(t *testing.T) {
	u := newUniverse(t)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 200 {
		s := u.draw(rng, i%2 == 1)
		b := mustEncode(t, s)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !bytes.Equal(mustEncode(t, got), b) || got.Digest() != s.Digest() {
			t.Fatalf("case %d: round trip changed the state", i)
		}
	}
}

// Encodings that are well formed msgpack but not what Encode writes, or that
// describe a broken state, are refused.
func TestDecodeRejects(t *testing.T) {
	u := newUniverse(t)
	good := mustEncode(t, u.draw(rand.New(rand.NewPCG(1, 1)), false))
	reencode := func(mutate func(v []any) []any) []byte {
		var v []any
		if err := msgpack.Unmarshal(good, &v); err != nil {
			t.Fatal(err)
		}
		b, err := msgpack.Marshal(mutate(v))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string][]byte{
		"empty":         nil,
		"truncated":     good[:len(good)-1],
		"trailing":      append(append([]byte(nil), good...), 0),
		"not an array":  {0x01},
		"huge array":    {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge string":   {0x94, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"empty cluster": reencode(func(v []any) []any { v[0] = ""; return v }),
		"int cluster":   reencode(func(v []any) []any { v[0] = 5; return v }),
		"short top":     reencode(func(v []any) []any { return v[:3] }),
		"records not sorted": reencode(func(v []any) []any {
			r := v[3].([]any)
			r[0], r[len(r)-1] = r[len(r)-1], r[0]
			return v
		}),
		"bad status": reencode(func(v []any) []any {
			m := v[1].([]any)[3].([]any)
			m[0].([]any)[2] = 9
			return v
		}),
	}
	for name, b := range cases {
		if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
	// Non-canonical forms of a value: a uint8 where a fixint fits.
	long := bytes.Replace(good, []byte{0x92, 0x00}, []byte{0x92, 0xcc, 0x00}, 1)
	if !bytes.Equal(long, good) {
		if _, err := Decode(long); !errors.Is(err, ErrMalformed) {
			t.Errorf("long form: err %v", err)
		}
	}
}

func TestDecodeAllocatesForWhatIsThere(t *testing.T) {
	// A 10-byte input that declares 2^32 records must not allocate for them.
	b := []byte{0x94, 0xa1, 'c', 0xc0, 0x92, 0x00, 0x90, 0xdd, 0xff, 0xff}
	allocs := testing.AllocsPerRun(10, func() { _, _ = Decode(b) })
	if allocs > 50 {
		t.Fatalf("%v allocations for a 10-byte input", allocs)
	}
}

func FuzzDecodeState(f *testing.F) {
	u := newUniverse(f)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range 8 {
		f.Add(mustEncode(f, u.draw(rng, i%2 == 1)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		if err := s.check(); err != nil {
			t.Fatalf("decoded a broken state: %v", err)
		}
		if again := mustEncode(t, s); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs")
		}
		if m, err := Merge(s, s); err != nil || m.Digest() != s.Digest() {
			t.Fatalf("merge with itself: %v", err)
		}
		_ = Ready(s)
		_, _ = Claimant(s)
	})
}
