package mpcheck_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/shoalkv/shoal/wire/mpcheck"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// testExtID is an application extension type registered with the msgpack
// library for these tests, so that ext values of every size round-trip
// through Marshal and Unmarshal into any.
const testExtID = 7

// testExt is an extension value whose payload is arbitrary bytes.
type testExt struct{ data []byte }

func (e *testExt) MarshalMsgpack() ([]byte, error) { return e.data, nil }

func (e *testExt) UnmarshalMsgpack(b []byte) error {
	e.data = append([]byte(nil), b...)
	return nil
}

func init() { msgpack.RegisterExt(testExtID, (*testExt)(nil)) }

// sentinels are the errors an *mpcheck.Error may wrap.
var sentinels = []error{
	mpcheck.ErrTruncated, mpcheck.ErrTooDeep, mpcheck.ErrTooLong,
	mpcheck.ErrTrailing, mpcheck.ErrInvalid,
}

// marshal encodes v with the msgpack library, map keys sorted so that a seed
// always yields the same bytes.
func marshal(tb testing.TB, v any, compact bool) []byte {
	tb.Helper()
	return encode(tb, func(e *msgpack.Encoder) error {
		e.SetSortMapKeys(true)
		e.UseCompactInts(compact)
		return e.Encode(v)
	})
}

// encode returns what fn writes with a msgpack.Encoder.
func encode(tb testing.TB, fn func(*msgpack.Encoder) error) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := fn(msgpack.NewEncoder(&buf)); err != nil {
		tb.Fatalf("encode: %v", err)
	}
	return buf.Bytes()
}

// librarySkip is the msgpack library's own verdict on whether b is exactly
// one well-formed value: Decoder.Skip walks the structure without building
// anything. It recurses, so call it on modest inputs only.
func librarySkip(b []byte) error {
	r := bytes.NewReader(b)
	if err := msgpack.NewDecoder(r).Skip(); err != nil {
		return err
	}
	if r.Len() > 0 {
		return fmt.Errorf("%d trailing bytes", r.Len())
	}
	return nil
}

// decodableAsAny reports whether msgpack.Unmarshal into an any can decode
// the well-formed value b. Well-formed is not enough: the library decodes
// maps into map[string]any, so keys must be str, bin or nil, and it knows
// only registered extensions: timestamps (type -1, 4, 8 or 12 bytes) and,
// in these tests, testExt. Type -128, its interned strings, also needs a
// dictionary that Unmarshal never has.
func decodableAsAny(b []byte) (bool, error) {
	return decodable(msgpack.NewDecoder(bytes.NewReader(b)))
}

func decodable(d *msgpack.Decoder) (bool, error) {
	c, err := d.PeekCode()
	if err != nil {
		return false, err
	}
	switch {
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.DecodeMapLen()
		if err != nil {
			return false, err
		}
		ok := true
		for range n {
			k, err := d.PeekCode()
			if err != nil {
				return false, err
			}
			ok = ok && (k == msgpcode.Nil || msgpcode.IsString(k) || msgpcode.IsBin(k))
			if err := d.Skip(); err != nil {
				return false, err
			}
			vok, err := decodable(d)
			if err != nil {
				return false, err
			}
			ok = ok && vok
		}
		return ok, nil
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return false, err
		}
		ok := true
		for range n {
			eok, err := decodable(d)
			if err != nil {
				return false, err
			}
			ok = ok && eok
		}
		return ok, nil
	case msgpcode.IsExt(c):
		id, n, err := d.DecodeExtHeader()
		if err != nil {
			return false, err
		}
		if err := d.ReadFull(make([]byte, n)); err != nil {
			return false, err
		}
		return id == testExtID || id == -1 && (n == 4 || n == 8 || n == 12), nil
	default:
		return true, d.Skip()
	}
}

// totalAlloc returns the bytes allocated so far by the whole process,
// exactly: runtime.ReadMemStats flushes every per-P cache, but stops the
// world to do it, which costs tens of microseconds.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// heapAllocs returns the same figure from runtime/metrics in about a
// microsecond. Large objects count at once; small ones only when their span
// leaves a per-P cache, so the figure may lag or lead by a few spans.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// allocated returns the bytes allocated while fn runs. Unless exact is set
// it reads heapAllocs, and runs fn again under the exact totalAlloc only if
// that reading exceeds half of limit, so that the fuzzer stays fast yet a
// failure is never a counting artefact. What the fast reading can miss is a
// few spans of small objects, nothing next to the megabytes that trusting a
// declared length costs.
func allocated(fn func(), limit uint64, exact bool) uint64 {
	if !exact {
		before := heapAllocs()
		fn()
		if used := heapAllocs() - before; used <= limit/2 {
			return used
		}
	}
	before := totalAlloc()
	fn()
	return totalAlloc() - before
}

// allocBound is the most that checking and then decoding an accepted b into
// an any may allocate. It is linear in len(b), never in a declared length.
// The factor is 256, not 64: the library spends about 340 bytes on every
// one-entry map[string]any, so an accepted array of 15-deep {"": {"": ...}}
// chains (2 bytes a map) costs about 165 bytes per input byte, and 64 fails
// TestDecodeAllocationIsLinear.
func allocBound(n int) uint64 { return 256*uint64(n) + 64<<10 }

// verify runs the checks that hold for every input b: Check does not panic
// and rejects only with a well-formed *Error; it agrees with the library's
// Skip on what is well-formed; and whatever it accepts, the library decodes
// into an any without panicking, without a structural error, and within
// allocBound (measured as allocated says). It reports whether Check
// accepted b.
func verify(t testing.TB, b []byte, exact bool) bool {
	t.Helper()
	err := mpcheck.Check(b, mpcheck.Limits{})
	if err != nil {
		checkError(t, b, err)
	}
	if len(b) <= 64<<10 {
		// With limits no input can reach, Check judges well-formedness
		// alone, which is exactly what Skip judges.
		loose := mpcheck.Check(b, mpcheck.Limits{MaxDepth: len(b) + 1, MaxLen: len(b) + 1})
		lib := librarySkip(b)
		if (loose == nil) != (lib == nil) {
			t.Fatalf("Check and msgpack Skip disagree on % x:\nCheck: %v\nSkip: %v", clip(b), loose, lib)
		}
		if err == nil && loose != nil {
			t.Fatalf("accepted with default limits but not loose ones: %v", loose)
		}
	}
	if err != nil {
		return false
	}
	want, derr := decodableAsAny(b)
	if derr != nil {
		t.Fatalf("library failed to walk accepted % x: %v", clip(b), derr)
	}
	var uerr error
	used := allocated(func() {
		var v any
		err = mpcheck.Check(b, mpcheck.Limits{})
		uerr = msgpack.Unmarshal(b, &v)
	}, allocBound(len(b)), exact)
	switch {
	case err != nil:
		t.Fatalf("Check is not deterministic: %v", err)
	case want && uerr != nil:
		t.Fatalf("Check accepted % x but Unmarshal into any failed: %v", clip(b), uerr)
	case !want && uerr == nil:
		t.Fatalf("Unmarshal into any decoded % x, which has a non-string key or unknown ext", clip(b))
	case errors.Is(uerr, io.EOF) || errors.Is(uerr, io.ErrUnexpectedEOF):
		t.Fatalf("Check accepted % x but Unmarshal ran out of input: %v", clip(b), uerr)
	}
	if used > allocBound(len(b)) {
		t.Fatalf("checking and decoding %d bytes allocated %d bytes, over %d", len(b), used, allocBound(len(b)))
	}
	return true
}

// checkError fails t unless err is an *mpcheck.Error that matches exactly
// one sentinel and points into b.
func checkError(t testing.TB, b []byte, err error) {
	t.Helper()
	var e *mpcheck.Error
	if !errors.As(err, &e) {
		t.Fatalf("Check(% x) = %T %v, want *mpcheck.Error", clip(b), err, err)
	}
	matched := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			matched++
		}
	}
	if matched != 1 {
		t.Fatalf("Check(% x) = %v matches %d sentinels, want 1", clip(b), err, matched)
	}
	if e.Offset < 0 || e.Offset > len(b) {
		t.Fatalf("Check(% x) = %v: offset %d outside [0, %d]", clip(b), err, e.Offset, len(b))
	}
	if e.Reason == "" || err.Error() != "mpcheck: "+e.Reason {
		t.Fatalf("Check(% x): message %q does not match reason %q", clip(b), err.Error(), e.Reason)
	}
}

// clip shortens b for messages.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// deepArrays returns n nested one-element arrays around a nil: 91 91 ... c0.
func deepArrays(n int) []byte {
	return append(bytes.Repeat([]byte{0x91}, n), 0xc0)
}

// hostile lists inputs that the released msgpack library mishandles or that
// break one rule each, with the sentinel Check must return.
func hostile() []struct {
	name string
	in   []byte
	want error
} {
	return []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, mpcheck.ErrTruncated},
		{"array32 of 4G", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, mpcheck.ErrTruncated},
		{"bin32 of 4GiB", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, mpcheck.ErrTruncated},
		{"str32 of 4GiB", []byte{0xdb, 0xff, 0xff, 0xff, 0xff}, mpcheck.ErrTruncated},
		{"map32 of 4G", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, mpcheck.ErrTruncated},
		{"ext32 of 4GiB", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, testExtID}, mpcheck.ErrTruncated},
		{"array16 of 64K", []byte{0xdc, 0xff, 0xff, 0xc0}, mpcheck.ErrTruncated},
		{"million nested arrays", deepArrays(1_000_000), mpcheck.ErrTooDeep},
		{"nested maps", append(bytes.Repeat([]byte{0x81, 0xa0}, 100), 0xc0), mpcheck.ErrTooDeep},
		{"nested as map keys", append(bytes.Repeat([]byte{0x81}, 100), 0xc0, 0xc0), mpcheck.ErrTooDeep},
		{"never used", []byte{0xc1}, mpcheck.ErrInvalid},
		{"never used in array", []byte{0x92, 0xc0, 0xc1}, mpcheck.ErrInvalid},
		{"fixarray count over remaining", []byte{0x93, 0x01}, mpcheck.ErrTruncated},
		{"fixmap count over remaining", []byte{0x82, 0xa0, 0xc0, 0xa0}, mpcheck.ErrTruncated},
		{"array ends early", []byte{0x92, 0xd0, 0x00}, mpcheck.ErrTruncated},
		{"map ends after key", []byte{0x81, 0xd0, 0x00}, mpcheck.ErrTruncated},
		{"uint16 cut", []byte{0xcd, 0x01}, mpcheck.ErrTruncated},
		{"ext8 header cut", []byte{0xc7, 0x01}, mpcheck.ErrTruncated},
		{"fixext1 without data", []byte{0xd4, testExtID}, mpcheck.ErrTruncated},
		{"two values", []byte{0xc0, 0xc0}, mpcheck.ErrTrailing},
		{"trailing garbage", []byte{0x91, 0x01, 0xde, 0xad, 0xbe, 0xef}, mpcheck.ErrTrailing},
		{"array over MaxLen", append([]byte{0xdc, 0x10, 0x01}, bytes.Repeat([]byte{0xc0}, 4097)...), mpcheck.ErrTooLong},
		{"map over MaxLen", append([]byte{0xde, 0x10, 0x01}, bytes.Repeat([]byte{0xc0}, 2*4097)...), mpcheck.ErrTooLong},
	}
}
