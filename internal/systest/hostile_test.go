package systest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Hostile clients against a running node (DESIGN.md §4): every declared
// length is checked against the bytes that remain before anything is
// allocated, nesting is bounded, limits are enforced by the node and not only
// by the driver, and no such request stops the node serving others.

// hostileHeader is a frame header declaring n bytes (type byte plus body).
func hostileHeader(n uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, n)
}

// hostileNested is n fixarray-of-one headers around a nil: n levels deep.
func hostileNested(n int) []byte {
	return append(bytes.Repeat([]byte{0x91}, n), 0xc0)
}

// hostileVV hand-encodes a version vector of n valid entries, sorted
// strictly by actor: [[["a0000000", 1], 1], ...]. It writes the bytes itself
// because dvv's encoder refuses more than dvv.MaxDecodeEntries entries.
func hostileVV(n int) []byte {
	b := []byte{0xdd}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	for i := range n {
		node := fmt.Sprintf("a%07d", i)
		b = append(b, 0x92, 0x92, 0xa0|byte(len(node)))
		b = append(b, node...)
		b = append(b, 0x01, 0x01) // epoch 1, counter 1
	}
	return b
}

// hostileBin appends a msgpack bin holding v.
func hostileBin(b, v []byte) []byte {
	switch {
	case len(v) <= math.MaxUint8:
		b = append(b, 0xc4, byte(len(v)))
	case len(v) <= math.MaxUint16:
		b = append(b, 0xc5)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	default:
		b = append(b, 0xc6)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	}
	return append(b, v...)
}

// hostileCoordinate hand-encodes a Coordinate body whose context is the raw
// msgpack vv.
func hostileCoordinate(key, value, vv []byte) []byte {
	b := hostileBin([]byte{0x95}, key)
	b = hostileBin(b, value)
	b = append(b, 0xc2) // tombstone false
	b = append(b, vv...)
	return append(b, 0xa0) // no hint: empty string
}

// TestHostileVVBuilder checks the hand-made context encoder against dvv's
// decoder, so that the oversize contexts below are refused for their size and
// not for a mistake in their bytes.
func TestHostileVVBuilder(t *testing.T) {
	vv, err := dvv.DecodeVV(hostileVV(300))
	if err != nil {
		t.Fatalf("300 hand-encoded entries do not decode: %v", err)
	}
	if len(vv) != 300 || vv[299].Actor.Node != "a0000299" || vv[299].Counter != 1 {
		t.Fatalf("decoded %d entries, last %+v", len(vv), vv[len(vv)-1])
	}
	var lim *dvv.LimitError
	if _, err := dvv.DecodeVV(hostileVV(100_000)); !errors.As(err, &lim) || lim.Len != 100_000 {
		t.Fatalf("100000 entries: err = %v, want a dvv limit error declaring 100000", err)
	}
	var c wire.Coordinate
	if err := wire.Decode(hostileCoordinate([]byte("k"), []byte("v"), hostileVV(300)), &c); err != nil {
		t.Fatalf("hand-encoded coordinate does not decode: %v", err)
	}
	if string(c.Key) != "k" || string(c.Value) != "v" || c.Tombstone || len(c.Context) != 300 {
		t.Fatalf("hand-encoded coordinate decoded as key %q value %q tombstone %v context %d entries",
			c.Key, c.Value, c.Tombstone, len(c.Context))
	}
}

// hostileCase is one hostile request and the answer it must get.
type hostileCase struct {
	name     string
	raw      []byte
	code     wire.Code
	codes    []wire.Code // alternatives to code, when more than one is right
	mentions []string
}

func hostileCases(t *testing.T) []hostileCase {
	get := func(key []byte) []byte { return inprocFrame(t, wire.TypeGet, &wire.Get{Key: key}) }
	coord := func(c *wire.Coordinate) []byte { return inprocFrame(t, wire.TypeCoordinate, c) }
	validGet, err := wire.Encode(&wire.Get{Key: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	bigKey := bytes.Repeat([]byte("k"), wire.DefaultMaxKey+1)
	ctx100k := hostileCoordinate([]byte("k"), []byte("v"), hostileVV(100_000))
	ctx5k := hostileCoordinate([]byte("k"), []byte("v"), hostileVV(5_000))
	ctx300 := hostileCoordinate([]byte("k"), []byte("v"), hostileVV(300))
	return []hostileCase{{
		name:     "array32 declaring 4G elements",
		raw:      wire.AppendFrame(nil, wire.TypeGet, []byte{0xdd, 0xff, 0xff, 0xff, 0xff}),
		code:     wire.CodeBadRequest,
		mentions: []string{"declares 4294967295 elements", "0 bytes remain"},
	}, {
		name:     "bin32 declaring 4 GiB",
		raw:      wire.AppendFrame(nil, wire.TypeGet, []byte{0xc6, 0xff, 0xff, 0xff, 0xff}),
		code:     wire.CodeBadRequest,
		mentions: []string{"declares 4294967295 bytes", "0 bytes remain"},
	}, {
		name:     "bin32 key declaring 4 GiB",
		raw:      wire.AppendFrame(nil, wire.TypeGet, []byte{0x91, 0xc6, 0xff, 0xff, 0xff, 0xff}),
		code:     wire.CodeBadRequest,
		mentions: []string{"declares 4294967295 bytes", "0 bytes remain"},
	}, {
		name:     "map32 declaring 4G entries",
		raw:      wire.AppendFrame(nil, wire.TypeCoordinate, []byte{0xdf, 0xff, 0xff, 0xff, 0xff}),
		code:     wire.CodeBadRequest,
		mentions: []string{"declares 4294967295 entries"},
	}, {
		name:     "a million nested arrays",
		raw:      wire.AppendFrame(nil, wire.TypeGet, hostileNested(1_000_000)),
		code:     wire.CodeBadRequest,
		mentions: []string{"nests 13 deep", "limit of 12"},
	}, {
		name:     "length prefix over the cap",
		raw:      hostileHeader(wire.MaxFrame + 1),
		code:     wire.CodeTooLarge,
		mentions: []string{strconv.Itoa(wire.MaxFrame + 1), strconv.Itoa(wire.MaxFrame) + "-byte cap"},
	}, {
		name:     "length prefix at the cap, stream ends early",
		raw:      append(hostileHeader(wire.MaxFrame), byte(wire.TypeGet), 0x91, 0xc4),
		code:     wire.CodeBadRequest,
		mentions: []string{fmt.Sprintf("declares %d bytes but the stream ended after 3", wire.MaxFrame)},
	}, {
		name:     "length prefix 0",
		raw:      hostileHeader(0),
		code:     wire.CodeBadRequest,
		mentions: []string{"length 0"},
	}, {
		name:     "header truncated",
		raw:      []byte{0x00, 0x00},
		code:     wire.CodeBadRequest,
		mentions: []string{"header truncated"},
	}, {
		name:     "trailing bytes inside the frame",
		raw:      wire.AppendFrame(nil, wire.TypeGet, append(bytes.Clone(validGet), 0x01, 0x02, 0x03)),
		code:     wire.CodeBadRequest,
		mentions: []string{"3 bytes follow"},
	}, {
		name:     "unknown type 200",
		raw:      wire.AppendFrame(nil, wire.Type(200), validGet),
		code:     wire.CodeUnknownType,
		mentions: []string{"unknown message type 200"},
	}, {
		name:     "type 0",
		raw:      wire.AppendFrame(nil, wire.TypeInvalid, validGet),
		code:     wire.CodeUnknownType,
		mentions: []string{"unknown message type 0"},
	}, {
		name:     "a response type sent as a request",
		raw:      inprocFrame(t, wire.TypeAck, &wire.Ack{}),
		code:     wire.CodeUnknownType,
		mentions: []string{"ack is not a request"},
	}, {
		name:     "hello twice",
		raw:      inprocHelloFrame(t, wire.ProtocolVersion, inprocClusterID),
		code:     wire.CodeBadRequest,
		mentions: []string{"hello sent twice"},
	}, {
		name:     "byte 0xc1",
		raw:      wire.AppendFrame(nil, wire.TypeGet, []byte{0x91, 0xc1}),
		code:     wire.CodeBadRequest,
		mentions: []string{"0xc1"},
	}, {
		name:     "get body of the wrong shape",
		raw:      wire.AppendFrame(nil, wire.TypeGet, []byte{0x91, 0x81, 0xa1, 'k', 0x01}),
		code:     wire.CodeBadRequest,
		mentions: []string{"decode *wire.Get"},
	}, {
		name:     "get key over the limit",
		raw:      get(bigKey),
		code:     wire.CodeTooLarge,
		mentions: []string{"key is 1025 bytes, limit 1024"},
	}, {
		name:     "coordinate key over the limit",
		raw:      coord(&wire.Coordinate{Key: bigKey, Value: []byte("v")}),
		code:     wire.CodeTooLarge,
		mentions: []string{"key is 1025 bytes, limit 1024"},
	}, {
		name:     "get empty key",
		raw:      get(nil),
		code:     wire.CodeBadRequest,
		mentions: []string{"empty key"},
	}, {
		name:     "coordinate empty key",
		raw:      coord(&wire.Coordinate{Key: []byte{}, Value: []byte("v")}),
		code:     wire.CodeBadRequest,
		mentions: []string{"empty key"},
	}, {
		name:     "coordinate value over the limit",
		raw:      coord(&wire.Coordinate{Key: []byte("k"), Value: make([]byte, wire.DefaultMaxValue+1)}),
		code:     wire.CodeTooLarge,
		mentions: []string{"value is 1048577 bytes, limit 1048576"},
	}, {
		name:     "context of 100000 entries",
		raw:      wire.AppendFrame(nil, wire.TypeCoordinate, ctx100k),
		code:     wire.CodeTooLarge,
		codes:    []wire.Code{wire.CodeBadRequest},
		mentions: []string{"100000", "limit"},
	}, {
		name:     "context of 5000 entries",
		raw:      wire.AppendFrame(nil, wire.TypeCoordinate, ctx5k),
		code:     wire.CodeTooLarge,
		codes:    []wire.Code{wire.CodeBadRequest},
		mentions: []string{"5000", "limit", strconv.Itoa(dvv.MaxDecodeEntries)},
	}, {
		name:     "context of 300 entries",
		raw:      wire.AppendFrame(nil, wire.TypeCoordinate, ctx300),
		code:     wire.CodeTooLarge,
		mentions: []string{"context has 300 entries, limit 256"},
	}}
}

// TestHostileRequests sends each hostile request on a new stream of one
// connection that said a proper hello, checks the error answer's code and
// message, and after every case checks that the node still serves a fresh
// driver and a fresh raw connection.
func TestHostileRequests(t *testing.T) {
	n := inprocStart(t)
	n.assertServes(t)
	r := n.rawConn(t, n.Client)
	for _, c := range hostileCases(t) {
		t.Run(c.name, func(t *testing.T) {
			typ, body, err := r.Exchange(c.raw)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			var e wire.Error
			if typ != wire.TypeError {
				t.Fatalf("answer is %s, want an error", inprocDescribe(typ, body))
			}
			if err := wire.Decode(body, &e); err != nil {
				t.Fatalf("decode error answer: %v", err)
			}
			ok := e.Code == c.code
			for _, alt := range c.codes {
				ok = ok || e.Code == alt
			}
			if !ok {
				t.Errorf("code %s (%q), want %s (or %v)", e.Code, e.Message, c.code, c.codes)
			}
			for _, m := range c.mentions {
				if !bytes.Contains([]byte(e.Message), []byte(m)) {
					t.Errorf("message %q does not mention %q", e.Message, m)
				}
			}
			n.assertServes(t)
			// The hostile connection itself stays usable too.
			if typ, body, err := r.Exchange(inprocFrame(t, wire.TypeStatus, &wire.StatusReq{})); err != nil || typ != wire.TypeStatusOK {
				t.Fatalf("status on the hostile connection after the case: %v %s", err, inprocDescribe(typ, body))
			}
		})
	}
}

// hostileRaceBuild reports whether this test binary has the race detector.
func hostileRaceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// hostileAlloc runs raw n times over r and returns the least growth of
// runtime.MemStats.TotalAlloc across one exchange (the node runs in this
// process, so its allocations count). check validates every answer.
func hostileAlloc(t *testing.T, r *inprocRaw, raw []byte, n int, check func(typ wire.Type, body []byte)) uint64 {
	t.Helper()
	best := uint64(math.MaxUint64)
	var before, after runtime.MemStats
	for range n {
		runtime.GC()
		runtime.ReadMemStats(&before)
		typ, body, err := r.Exchange(raw)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		check(typ, body)
		best = min(best, after.TotalAlloc-before.TotalAlloc)
	}
	return best
}

// TestHostileFrameMemory measures what a few-byte hostile frame costs the
// node and this client together, against what an ordinary Get costs: a frame
// that declares gigabytes must cost no more than a small constant over a Get.
// A megabyte of nesting must cost a few times its size, like any megabyte.
func TestHostileFrameMemory(t *testing.T) {
	const runs = 20
	// The race detector's instrumentation changes what the runtime and
	// quic-go allocate (reading a megabyte costs about 4 MB instead of 2),
	// so its builds get twice the room.
	slack, frameFactor := uint64(64<<10), 4
	if hostileRaceBuild() {
		slack, frameFactor = 2*slack, 2*frameFactor
	}
	n := inprocStart(t)
	n.assertServes(t)
	r := n.rawConn(t, n.Client)

	wantCode := func(code wire.Code) func(wire.Type, []byte) {
		return func(typ wire.Type, body []byte) {
			t.Helper()
			var e wire.Error
			if typ != wire.TypeError || wire.Decode(body, &e) != nil || e.Code != code {
				t.Fatalf("answer %s, want error %s", inprocDescribe(typ, body), code)
			}
		}
	}
	getFrame := inprocFrame(t, wire.TypeGet, &wire.Get{Key: []byte("memory-baseline")})
	base := hostileAlloc(t, r, getFrame, runs, func(typ wire.Type, body []byte) {
		if typ != wire.TypeGetOK {
			t.Fatalf("baseline get answered %s", inprocDescribe(typ, body))
		}
	})
	t.Logf("normal get: %d bytes allocated (least of %d)", base, runs)

	small := []struct {
		name string
		raw  []byte
		code wire.Code
	}{
		{"array32 declaring 4G elements", wire.AppendFrame(nil, wire.TypeGet, []byte{0xdd, 0xff, 0xff, 0xff, 0xff}), wire.CodeBadRequest},
		{"bin32 declaring 4 GiB", wire.AppendFrame(nil, wire.TypeGet, []byte{0xc6, 0xff, 0xff, 0xff, 0xff}), wire.CodeBadRequest},
		{"length prefix over the cap", hostileHeader(wire.MaxFrame + 1), wire.CodeTooLarge},
		{"length prefix at the cap, 3 bytes sent", append(hostileHeader(wire.MaxFrame), byte(wire.TypeGet), 0x91, 0xc4), wire.CodeBadRequest},
	}
	for _, c := range small {
		got := hostileAlloc(t, r, c.raw, runs, wantCode(c.code))
		t.Logf("%s (%d-byte frame): %d bytes allocated, %+d over a get", c.name, len(c.raw), got, int64(got)-int64(base))
		if bound := base + slack + uint64(len(c.raw)); got > bound {
			t.Errorf("%s: a %d-byte frame allocated %d bytes, over the bound %d (normal get %d + %d)",
				c.name, len(c.raw), got, bound, base, slack)
		}
	}

	// A megabyte of nesting costs a few times its size, as reading any
	// megabyte does (logged for comparison: the same frame with an unknown
	// type byte, refused once read).
	deep := wire.AppendFrame(nil, wire.TypeGet, hostileNested(1_000_000))
	unknown := bytes.Clone(deep)
	unknown[4] = 200
	read := hostileAlloc(t, r, unknown, 5, wantCode(wire.CodeUnknownType))
	got := hostileAlloc(t, r, deep, 5, wantCode(wire.CodeBadRequest))
	t.Logf("a million nested arrays (%d-byte frame): %d bytes allocated (%.2f× the frame); reading a frame that size: %d",
		len(deep), got, float64(got)/float64(len(deep)), read)
	if bound := uint64(frameFactor) * uint64(len(deep)); got > bound {
		t.Errorf("a %d-byte frame of nesting allocated %d bytes, over %d× its size", len(deep), got, frameFactor)
	}
	n.assertServes(t)
}

// TestHostileUnreadBytesDoNotWedgeConnection: a request the node refuses
// before reading all of it (here: bytes after the frame) must not keep its
// stream, or the bytes it left unread, for the life of the connection. QUIC
// returns a peer's stream credit (MaxStreams, 4096) only when a stream is
// finished both ways, and connection flow-control credit (4 MiB at first)
// only for bytes the application reads; bytes left unread also stay in the
// node's memory.
func TestHostileUnreadBytesDoNotWedgeConnection(t *testing.T) {
	n := inprocStart(t)
	for _, c := range []struct {
		name     string
		requests int
		trailing int
	}{
		{"stream credit", 4096 + 200, 3},
		{"flow-control credit", (4<<20)/2000 + 200, 2000},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := n.rawConn(t, n.Client)
			// A frame over the cap is refused from its header alone and ends
			// its lane, leaving the bytes behind it unread.
			raw := append(hostileHeader(wire.MaxFrame+1), make([]byte, c.trailing)...)
			for i := range c.requests {
				typ, body, err := r.Exchange(raw)
				if err != nil {
					t.Fatalf("request %d of %d with %d unread bytes each: %v", i+1, c.requests, c.trailing, err)
				}
				if typ != wire.TypeError {
					t.Fatalf("request %d answered %s, want a too-large error", i+1, inprocDescribe(typ, body))
				}
			}
			if typ, body, err := r.Exchange(inprocFrame(t, wire.TypeStatus, &wire.StatusReq{})); err != nil || typ != wire.TypeStatusOK {
				t.Fatalf("status after the refused requests: %v %s", err, inprocDescribe(typ, body))
			}
		})
	}
	n.assertServes(t)
}

// TestHostileGarbageAfterARequestEndsOnlyItsLane: on a lane, the bytes after
// a complete request are the next request. A valid Get followed by three
// bytes that cannot even hold a request id gets its answer, then the node
// ends that lane (nothing can be answered without an id); the connection
// and its other lanes keep working.
func TestHostileGarbageAfterARequestEndsOnlyItsLane(t *testing.T) {
	n := inprocStart(t)
	r := n.rawConn(t, n.Client)
	raw := append(inprocFrame(t, wire.TypeGet, &wire.Get{Key: []byte("k")}), 0xc0, 0xc0, 0xc0)
	typ, body, err := r.Exchange(raw)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if typ != wire.TypeGetOK {
		t.Fatalf("answer is %s, want the get's own answer", inprocDescribe(typ, body))
	}
	if typ, body, err := r.Exchange(inprocFrame(t, wire.TypeStatus, &wire.StatusReq{})); err != nil || typ != wire.TypeStatusOK {
		t.Fatalf("status on the same connection afterwards: %v %s", err, inprocDescribe(typ, body))
	}
	n.assertServes(t)
}
