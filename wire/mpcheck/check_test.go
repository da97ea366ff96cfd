package mpcheck_test

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/shoalkv/shoal/wire/mpcheck"
	"github.com/vmihailenco/msgpack/v5"
)

// putRequest stands in for a shoal message body.
type putRequest struct {
	Key      []byte
	Value    []byte
	Context  map[string]uint64
	Siblings [][]byte
	Deadline time.Time
	Hint     *string
	Tags     []string
	Replicas []uint16
	Weight   float64
}

func samplePut(valueLen int) putRequest {
	hint := "node-7"
	return putRequest{
		Key:      []byte("users/1234/profile"),
		Value:    bytes.Repeat([]byte{0xab}, valueLen),
		Context:  map[string]uint64{"n1:3": 17, "n2:1": 4, "n5:2": 99},
		Siblings: [][]byte{[]byte("a"), bytes.Repeat([]byte("b"), 40)},
		Deadline: time.Unix(1_700_000_000, 123),
		Hint:     &hint,
		Tags:     []string{"hot", "eu-west"},
		Replicas: []uint16{1, 2, 700},
		Weight:   0.75,
	}
}

// typicalMessage returns a 1 KiB put request: nine fields of strings, ints,
// lists, a small map, a timestamp and a value of 800 bytes.
func typicalMessage(tb testing.TB) []byte {
	b := marshal(tb, samplePut(800), false)
	if len(b) != 1024 {
		tb.Fatalf("typical message is %d bytes, want 1024", len(b))
	}
	return b
}

// nest returns n nested single-element []any around v.
func nest(n int, v any) any {
	for range n {
		v = []any{v}
	}
	return v
}

func nils(n int) []any { return make([]any, n) }

func keys(n int) map[string]int {
	m := make(map[string]int, n)
	for i := range n {
		m[fmt.Sprint(i)] = i
	}
	return m
}

type validCase struct {
	name string
	in   []byte
	lead byte // the format the case exists to cover
	lim  mpcheck.Limits
}

// validCases are encodings, made by the msgpack library, of every format
// family. Each names the first byte it must start with, so a library change
// that stops covering a format fails the test instead of silently passing.
func validCases(t testing.TB) []validCase {
	m := func(v any) []byte { return marshal(t, v, false) }
	e := func(fn func(*msgpack.Encoder) error) []byte { return encode(t, fn) }
	ext := func(n int) []byte { return m(&testExt{data: bytes.Repeat([]byte{0x5a}, n)}) }
	big := mpcheck.Limits{MaxLen: 70_000}
	return []validCase{
		{name: "nil", in: m(nil), lead: 0xc0},
		{name: "false", in: m(false), lead: 0xc2},
		{name: "true", in: m(true), lead: 0xc3},
		{name: "positive fixint", in: m(int(5)), lead: 0x05},
		{name: "negative fixint", in: m(int(-5)), lead: 0xfb},
		{name: "uint8", in: m(uint8(200)), lead: 0xcc},
		{name: "uint16", in: m(uint16(60_000)), lead: 0xcd},
		{name: "uint32", in: m(uint32(4_000_000_000)), lead: 0xce},
		{name: "uint64", in: m(uint64(1) << 63), lead: 0xcf},
		{name: "int8", in: m(int8(-100)), lead: 0xd0},
		{name: "int16", in: m(int16(-30_000)), lead: 0xd1},
		{name: "int32", in: m(int32(-2_000_000_000)), lead: 0xd2},
		{name: "int64", in: m(int64(-1) << 62), lead: 0xd3},
		{name: "float32", in: m(float32(1.5)), lead: 0xca},
		{name: "float64", in: m(3.25), lead: 0xcb},
		{name: "empty fixstr", in: m(""), lead: 0xa0},
		{name: "fixstr", in: m("hello"), lead: 0xa5},
		{name: "str8", in: m(strings.Repeat("s", 40)), lead: 0xd9},
		{name: "str16", in: m(strings.Repeat("s", 300)), lead: 0xda},
		{name: "str32", in: m(strings.Repeat("s", 70_000)), lead: 0xdb},
		{name: "empty bin8", in: m([]byte{}), lead: 0xc4},
		{name: "bin8", in: m(bytes.Repeat([]byte{1}, 10)), lead: 0xc4},
		{name: "bin16", in: m(bytes.Repeat([]byte{1}, 300)), lead: 0xc5},
		{name: "bin32", in: m(bytes.Repeat([]byte{1}, 70_000)), lead: 0xc6},
		{name: "empty fixarray", in: m([]any{}), lead: 0x90},
		{name: "fixarray", in: m([]any{1, "a", nil, true}), lead: 0x94},
		{name: "array16", in: m(nils(20)), lead: 0xdc},
		{name: "array32", in: m(nils(70_000)), lead: 0xdd, lim: big},
		{name: "array of MaxLen", in: m(nils(4096)), lead: 0xdc},
		{name: "empty fixmap", in: m(map[string]any{}), lead: 0x80},
		{name: "fixmap", in: m(map[string]any{"a": 1, "b": []any{}}), lead: 0x82},
		{name: "map16", in: m(keys(20)), lead: 0xde},
		{name: "map32", in: m(keys(70_000)), lead: 0xdf, lim: big},
		{name: "map of MaxLen", in: m(keys(4096)), lead: 0xde},
		{name: "map with int keys", in: m(map[int]string{1: "a", 2: "b"}), lead: 0x82},
		{name: "array16 by hand", in: e(func(e *msgpack.Encoder) error { return e.EncodeArrayLen(0) }), lead: 0x90},
		{name: "map32 by hand", in: append([]byte{0xdf, 0, 0, 0, 1}, 0xa1, 'k', 0xc0), lead: 0xdf},
		{name: "nested 16 deep", in: m(nest(15, []any{})), lead: 0x91},
		{name: "nested maps and arrays", in: m(map[string]any{
			"a": []any{map[string]any{"b": []any{1, 2, map[string]any{}}}},
			"c": map[string]any{"d": map[string]any{"e": []any{[]any{nil}}}},
		}), lead: 0x82},
		{name: "fixext1", in: ext(1), lead: 0xd4},
		{name: "fixext2", in: ext(2), lead: 0xd5},
		{name: "fixext4", in: ext(4), lead: 0xd6},
		{name: "fixext8", in: ext(8), lead: 0xd7},
		{name: "fixext16", in: ext(16), lead: 0xd8},
		{name: "empty ext8", in: ext(0), lead: 0xc7},
		{name: "ext8", in: ext(3), lead: 0xc7},
		{name: "ext16", in: ext(300), lead: 0xc8},
		{name: "ext32", in: ext(70_000), lead: 0xc9},
		{name: "unknown ext", in: []byte{0xd5, 0x42, 1, 2}, lead: 0xd5},
		{name: "timestamp32", in: m(time.Unix(1_700_000_000, 0)), lead: 0xd6},
		{name: "timestamp64", in: m(time.Unix(1_700_000_000, 5)), lead: 0xd7},
		{name: "timestamp96", in: m(time.Unix(1<<40, 5)), lead: 0xc7},
		{name: "timestamp before 1970", in: m(time.Unix(-1, 0)), lead: 0xc7},
		{name: "struct", in: m(samplePut(100)), lead: 0x89},
	}
}

func TestCheckAcceptsValid(t *testing.T) {
	for _, c := range validCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.in[0] != c.lead {
				t.Fatalf("encoding starts % x, want %02x", clip(c.in), c.lead)
			}
			if err := librarySkip(c.in); err != nil {
				t.Fatalf("the msgpack library rejects the case itself: %v", err)
			}
			if err := mpcheck.Check(c.in, c.lim); err != nil {
				t.Fatalf("Check(% x) = %v, want nil", clip(c.in), err)
			}
		})
	}
}

func TestCheckRejectsHostile(t *testing.T) {
	for _, c := range hostile() {
		t.Run(c.name, func(t *testing.T) {
			err := mpcheck.Check(c.in, mpcheck.Limits{})
			if !errors.Is(err, c.want) {
				t.Fatalf("Check(% x) = %v, want %v", clip(c.in), err, c.want)
			}
			checkError(t, c.in, err)
		})
	}
}

func TestCheckMessages(t *testing.T) {
	tests := []struct {
		in     []byte
		lim    mpcheck.Limits
		offset int
		msg    string
	}{
		{[]byte{0xdd, 0xff, 0xff, 0xff, 0xff}, mpcheck.Limits{}, 0,
			"mpcheck: array at offset 0 declares 4294967295 elements but 0 bytes remain"},
		{[]byte{0xc6, 0xff, 0xff, 0xff, 0xff}, mpcheck.Limits{}, 0,
			"mpcheck: bin at offset 0 declares 4294967295 bytes but 0 bytes remain"},
		{[]byte{0x91, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0}, mpcheck.Limits{}, 1,
			"mpcheck: map at offset 1 declares 4294967295 entries but 1 byte remains (an entry takes at least 2)"},
		{[]byte{0x82, 0xa0, 0xc0, 0xa0}, mpcheck.Limits{}, 0,
			"mpcheck: map at offset 0 declares 2 entries but 3 bytes remain (an entry takes at least 2)"},
		{[]byte{0x92, 0xc0, 0xc8, 0x01, 0x00, 0x07, 0x00}, mpcheck.Limits{}, 2,
			"mpcheck: ext at offset 2 declares 256 data bytes but 1 byte remains"},
		{[]byte{0x91, 0xce, 0x01}, mpcheck.Limits{}, 1,
			"mpcheck: uint32 at offset 1 needs 5 bytes but 2 bytes remain"},
		{[]byte{0xda, 0x01}, mpcheck.Limits{}, 0,
			"mpcheck: str16 at offset 0 needs a 3-byte header but 2 bytes remain"},
		{[]byte{0x92, 0xd0, 0x00}, mpcheck.Limits{}, 3,
			"mpcheck: input ends at offset 3 but the array at offset 0 still expects 1 more elements"},
		{[]byte{0x82, 0xa0, 0xc0, 0xd0, 0x00}, mpcheck.Limits{}, 5,
			"mpcheck: input ends at offset 5 but the map at offset 0 still expects 1 more keys and values"},
		{deepArrays(1_000_000), mpcheck.Limits{}, 16,
			"mpcheck: array at offset 16 nests 17 deep, over the limit of 16"},
		{[]byte{0x92, 0x92, 0xc0, 0xc0, 0xc0}, mpcheck.Limits{MaxLen: 1}, 0,
			"mpcheck: array at offset 0 declares 2 elements, over the limit of 1"},
		{[]byte{0x90, 0x82, 0xc0, 0xc0, 0xc0, 0xc0}, mpcheck.Limits{MaxLen: 1}, 1,
			"mpcheck: value ends at offset 1 but 5 bytes follow"},
		{[]byte{0x93, 0xc0, 0xc1, 0xc0}, mpcheck.Limits{}, 2,
			"mpcheck: byte 0xc1 at offset 2 is not a msgpack type"},
		{nil, mpcheck.Limits{}, 0, "mpcheck: input is empty"},
	}
	for _, tt := range tests {
		err := mpcheck.Check(tt.in, tt.lim)
		var e *mpcheck.Error
		if !errors.As(err, &e) {
			t.Errorf("Check(% x) = %v, want an *Error", clip(tt.in), err)
			continue
		}
		if e.Offset != tt.offset || err.Error() != tt.msg {
			t.Errorf("Check(% x) = offset %d %q\nwant offset %d %q", clip(tt.in), e.Offset, err, tt.offset, tt.msg)
		}
	}
}

// cuts returns the lengths at which to cut n bytes: all of them for small
// inputs, and for big ones the first and last 300 and about 500 between
// (a stride coprime to the 3- to 9-byte entries of the big cases), so that
// headers, element boundaries and the end of every payload are all cut.
func cuts(n int) []int {
	stride := max(97, n/500|1)
	var out []int
	for i := 0; i < n; i++ {
		if n <= 4096 || i < 300 || i >= n-300 || i%stride == 0 {
			out = append(out, i)
		}
	}
	return out
}

func TestCheckRejectsEveryTruncation(t *testing.T) {
	for _, c := range validCases(t) {
		for _, n := range cuts(len(c.in)) {
			err := mpcheck.Check(c.in[:n], c.lim)
			if !errors.Is(err, mpcheck.ErrTruncated) {
				t.Fatalf("%s cut to %d of %d bytes: Check = %v, want ErrTruncated", c.name, n, len(c.in), err)
			}
		}
	}
}

func TestCheckRejectsTrailingBytes(t *testing.T) {
	for _, c := range validCases(t) {
		for _, extra := range [][]byte{{0x00}, {0xc1}, {0xdd, 0xff, 0xff, 0xff, 0xff}, c.in} {
			in := append(append([]byte(nil), c.in...), extra...)
			err := mpcheck.Check(in, c.lim)
			var e *mpcheck.Error
			if !errors.Is(err, mpcheck.ErrTrailing) || !errors.As(err, &e) || e.Offset != len(c.in) {
				t.Fatalf("%s followed by % x: Check = %v, want ErrTrailing at offset %d", c.name, clip(extra), err, len(c.in))
			}
		}
	}
}

func TestCheckLimits(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		lim  mpcheck.Limits
		want error
	}{
		{"scalar at MaxDepth 1", []byte{0x01}, mpcheck.Limits{MaxDepth: 1}, nil},
		{"array at MaxDepth 1", []byte{0x91, 0x01}, mpcheck.Limits{MaxDepth: 1}, nil},
		{"empty array in array at MaxDepth 1", []byte{0x91, 0x90}, mpcheck.Limits{MaxDepth: 1}, mpcheck.ErrTooDeep},
		{"map in map at MaxDepth 1", []byte{0x81, 0xc0, 0x80}, mpcheck.Limits{MaxDepth: 1}, mpcheck.ErrTooDeep},
		{"map as key at MaxDepth 1", []byte{0x81, 0x80, 0xc0}, mpcheck.Limits{MaxDepth: 1}, mpcheck.ErrTooDeep},
		{"16 deep by default", deepArrays(16), mpcheck.Limits{}, nil},
		{"17 deep by default", deepArrays(17), mpcheck.Limits{}, mpcheck.ErrTooDeep},
		{"wide and shallow", append([]byte{0x9f}, bytes.Repeat([]byte{0x91, 0xc0}, 15)...), mpcheck.Limits{MaxDepth: 2}, nil},
		{"1000 deep with MaxDepth 1000", deepArrays(1000), mpcheck.Limits{MaxDepth: 1000}, nil},
		{"1001 deep with MaxDepth 1000", deepArrays(1001), mpcheck.Limits{MaxDepth: 1000}, mpcheck.ErrTooDeep},
		{"array of MaxLen", []byte{0x92, 0xc0, 0xc0}, mpcheck.Limits{MaxLen: 2}, nil},
		{"array over MaxLen", []byte{0x93, 0xc0, 0xc0, 0xc0}, mpcheck.Limits{MaxLen: 2}, mpcheck.ErrTooLong},
		{"map of MaxLen entries", []byte{0x82, 0xc0, 0xc0, 0xc0, 0xc0}, mpcheck.Limits{MaxLen: 2}, nil},
		{"map over MaxLen entries", []byte{0x83, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}, mpcheck.Limits{MaxLen: 2}, mpcheck.ErrTooLong},
		{"long bin under small MaxLen", append([]byte{0xc4, 100}, make([]byte, 100)...), mpcheck.Limits{MaxLen: 1}, nil},
		{"truncation reported before MaxLen", []byte{0xdc, 0x00, 0x05, 0xc0}, mpcheck.Limits{MaxLen: 2}, mpcheck.ErrTruncated},
	}
	for _, tt := range tests {
		err := mpcheck.Check(tt.in, tt.lim)
		if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
			t.Errorf("%s: Check = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestCheckRejectsNegativeLimits(t *testing.T) {
	err := mpcheck.Check([]byte{0xc0}, mpcheck.Limits{MaxDepth: -1, MaxLen: -2})
	if !errors.Is(err, mpcheck.ErrLimits) {
		t.Fatalf("Check with negative limits = %v, want ErrLimits", err)
	}
	for _, field := range []string{"MaxDepth is -1", "MaxLen is -2"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not report %q", err, field)
		}
	}
	if err := (mpcheck.Limits{}).Validate(); err != nil {
		t.Errorf("zero Limits: Validate = %v", err)
	}
}

// TestCheckDoesNotRecurse caps every goroutine's stack far below what a
// recursive walk of a million nested arrays would need; exceeding it is a
// fatal error, not a failed test, so this can only fail loudly.
func TestCheckDoesNotRecurse(t *testing.T) {
	in := deepArrays(1_000_000)
	lim := mpcheck.Limits{MaxDepth: len(in)}
	defer debug.SetMaxStack(debug.SetMaxStack(64 << 10))
	done := make(chan error)
	go func() { done <- mpcheck.Check(in, lim) }()
	if err := <-done; err != nil {
		t.Fatalf("Check(million nested arrays, MaxDepth %d) = %v", lim.MaxDepth, err)
	}
}
