package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/ringsync/swim"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/mpcheck"
)

// fuzzMessageTypes maps every assigned message type to a constructor of its
// struct. TestTypeOfRoundTrip checks that it covers exactly the known types.
var fuzzMessageTypes = map[wire.Type]func() any{
	wire.TypeHello:      func() any { return new(wire.Hello) },
	wire.TypeHelloOK:    func() any { return new(wire.HelloOK) },
	wire.TypeError:      func() any { return new(wire.Error) },
	wire.TypeCoordinate: func() any { return new(wire.Coordinate) },
	wire.TypeObject:     func() any { return new(wire.Object) },
	wire.TypeReplicate:  func() any { return new(wire.Replicate) },
	wire.TypeAck:        func() any { return new(wire.Ack) },
	wire.TypeGet:        func() any { return new(wire.Get) },
	wire.TypeGetOK:      func() any { return new(wire.GetOK) },
	wire.TypeRing:       func() any { return new(wire.RingReq) },
	wire.TypeRingOK:     func() any { return new(wire.RingOK) },
	wire.TypeStatus:     func() any { return new(wire.StatusReq) },
	wire.TypeStatusOK:   func() any { return new(wire.StatusOK) },
	wire.TypeHandoff:    func() any { return new(wire.Handoff) },

	wire.TypeExchangeTop:      func() any { return new(wire.ExchangeTop) },
	wire.TypeExchangeTopOK:    func() any { return new(wire.ExchangeTopOK) },
	wire.TypeExchangeLeaves:   func() any { return new(wire.ExchangeLeaves) },
	wire.TypeExchangeLeavesOK: func() any { return new(wire.ExchangeLeavesOK) },
	wire.TypeExchangeKeys:     func() any { return new(wire.ExchangeKeys) },
	wire.TypeExchangeKeysOK:   func() any { return new(wire.ExchangeKeysOK) },

	wire.TypeRepair:       func() any { return new(wire.Repair) },
	wire.TypeRepairStatus: func() any { return new(wire.RepairStatus) },
	wire.TypeRepairOK:     func() any { return new(wire.RepairOK) },

	wire.TypeExchangeClocks:   func() any { return new(wire.ExchangeClocks) },
	wire.TypeExchangeClocksOK: func() any { return new(wire.ExchangeClocksOK) },

	wire.TypeGossip:   func() any { return new(wire.Gossip) },
	wire.TypeGossipOK: func() any { return new(wire.GossipOK) },
	wire.TypeSwim:     func() any { return new(wire.Swim) },
}

// fuzzSamples returns a non-trivial value of every message type.
func fuzzSamples(t testing.TB) map[wire.Type]any {
	t.Helper()
	a := dvv.Actor{Node: "n1", Epoch: 0x1234}
	b := dvv.Actor{Node: "n2", Epoch: 7}
	s1, _ := dvv.Set{}.Update(a, nil, []byte("v1"), false)
	s2, _ := dvv.Set{}.Update(b, nil, []byte("v2"), false)
	obj := dvv.Merge(s1, s2) // two siblings
	tomb, _ := obj.Update(a, obj.VV, nil, true)
	r, err := ring.New(ring.MinPartitions, []ring.Node{{ID: "n1", Addr: "127.0.0.1:7001"}, {ID: "n2", Addr: "127.0.0.1:7002"}})
	if err != nil {
		t.Fatal(err)
	}
	return map[wire.Type]any{
		wire.TypeHello:      &wire.Hello{Version: wire.ProtocolVersion, ClusterID: "shoal"},
		wire.TypeHelloOK:    &wire.HelloOK{Version: wire.ProtocolVersion, ClusterID: "shoal", Node: "n1"},
		wire.TypeError:      &wire.Error{Code: wire.CodeTooLarge, Message: "key is 2000 bytes, limit 1024"},
		wire.TypeCoordinate: &wire.Coordinate{Key: []byte("k"), Value: []byte("value"), Tombstone: true, Context: obj.VV},
		wire.TypeObject:     &wire.Object{Object: obj},
		wire.TypeReplicate:  &wire.Replicate{Key: []byte("k"), Object: tomb, HintFor: "n3"},
		wire.TypeAck:        &wire.Ack{},
		wire.TypeGet:        &wire.Get{Key: []byte{0, 1, 0xff}},
		wire.TypeGetOK:      &wire.GetOK{Found: true, Object: obj},
		wire.TypeRing:       &wire.RingReq{},
		wire.TypeRingOK:     &wire.RingOK{Ring: r},
		wire.TypeStatus:     &wire.StatusReq{},
		wire.TypeStatusOK: &wire.StatusOK{Node: "n1", Addr: "127.0.0.1:7001", Epoch: 1 << 60, RingVersion: 3,
			Objects: 10, Hints: 2, UptimeMS: 12345, Commits: 99, Writes: 1 << 33, TreesRebuilding: 4, Repair: fuzzRepairProgress,
			Cluster: wire.GossipDigest{Version: 2, Hash: wire.GossipHash{7}}, ClusterMembers: 3, ClusterRecords: 2, GossipRounds: 40, GossipFailed: 1, GossipRefused: 1,
			Swim: []wire.SwimMember{{Node: "n1", State: "alive", Incarnation: 3}, {Node: "n2", State: "dead", Incarnation: 1, SinceMS: 946684800000}}, SwimHealth: 2},
		wire.TypeHandoff: &wire.Handoff{Key: []byte("k"), Object: s2},

		wire.TypeExchangeTop:      &wire.ExchangeTop{Partition: 4095, RingVersion: 7, Leaves: 1 << 18, Root: 0xdeadbeef},
		wire.TypeExchangeTopOK:    &wire.ExchangeTopOK{Leaves: 256, Root: 1, Part: wire.ExchangePart{1, 1, 8, 1, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		wire.TypeExchangeLeaves:   &wire.ExchangeLeaves{Partition: 3, Leaves: 512, Branches: wire.ExchangeIDs{0, 5, 7}},
		wire.TypeExchangeLeavesOK: &wire.ExchangeLeavesOK{Part: wire.ExchangePart{1, 2, 8}},
		wire.TypeExchangeKeys: &wire.ExchangeKeys{Partition: 3, Leaves: 256, LeafIDs: wire.ExchangeIDs{1, 200},
			After: wire.ExchangeKey("k0"), Max: 128},
		wire.TypeExchangeKeysOK: &wire.ExchangeKeysOK{Keys: wire.KeyHashes{{Key: []byte("k1"), Hash: 1 << 63}, {Key: []byte{0}, Hash: 0}}, More: true},

		wire.TypeRepair:       &wire.Repair{Partitions: wire.ExchangeIDs{7, 4095}},
		wire.TypeRepairStatus: &wire.RepairStatus{ID: 1<<63 + 5},
		wire.TypeRepairOK:     &wire.RepairOK{Repair: fuzzRepairProgress},

		wire.TypeExchangeClocks:   &wire.ExchangeClocks{Partition: 3, Keys: wire.ExchangeKeyList{[]byte("k1"), {0, 0xff}}},
		wire.TypeExchangeClocksOK: &wire.ExchangeClocksOK{Clocks: wire.ExchangeVVs{obj.VV, nil, tomb.VV}},

		wire.TypeGossip:   &wire.Gossip{Digest: wire.GossipDigest{Version: 3, Hash: wire.GossipHash{1, 2, 0xff}}},
		wire.TypeGossipOK: &wire.GossipOK{Digest: wire.GossipDigest{Version: 1 << 40, Hash: wire.GossipHash{15: 9}}, State: wire.GossipState("\x94\xa1c")},
		wire.TypeSwim: &wire.Swim{Msg: swim.Msg{Kind: swim.KindPingReq, Seq: 1 << 40, Target: "n2", Updates: []swim.Update{
			{Node: "n3", Incarnation: 7, State: swim.Suspect, From: "n1"}, {Node: "é", State: swim.Alive, From: "é"}}}},
	}
}

// fuzzRepairProgress is a repair with every field set, failures included.
var fuzzRepairProgress = wire.RepairProgress{
	ID: 0xfeed, Running: true, Partitions: 4096, PartitionsDone: 17, Exchanges: 30, Failed: 2,
	KeysRepaired: 1 << 40, StartedMS: 946684800000, TookMS: 1234,
	Failures: wire.RepairFailures{
		{Partition: 3, Peer: "n3", Error: "dial: no answer"},
		{Partition: 9, Peer: "é", Error: "skipped: n3 failed earlier in this pass"},
	},
}

// TestTypeOfRoundTrip: every assigned type (1..28) has a struct that TypeOf
// maps back to it, unassigned values have none, and every struct survives
// encode, frame, read, decode unchanged.
func TestTypeOfRoundTrip(t *testing.T) {
	known := 0
	for i := range 256 {
		typ := wire.Type(i)
		mk, ok := fuzzMessageTypes[typ]
		if typ.Known() != ok {
			t.Errorf("type %d: Known() = %v, but the test table has it: %v", i, typ.Known(), ok)
			continue
		}
		if !ok {
			if s := typ.String(); s != fmt.Sprintf("type(%d)", i) && typ != wire.TypeInvalid {
				t.Errorf("unassigned type %d is named %q", i, s)
			}
			continue
		}
		known++
		if got := wire.TypeOf(mk()); got != typ {
			t.Errorf("TypeOf(%T) = %s, want %s", mk(), got, typ)
		}
		if s := typ.String(); strings.HasPrefix(s, "type(") {
			t.Errorf("type %d has no name", i)
		}
	}
	if known != 28 {
		t.Errorf("%d known types, want 28", known)
	}
	if wire.TypeInvalid.Known() {
		t.Error("type 0 is known")
	}
	for _, v := range []any{nil, wire.Hello{}, "hello", new(int), (*wire.Hello)(nil)} {
		want := wire.TypeInvalid
		if _, isPtr := v.(*wire.Hello); isPtr {
			want = wire.TypeHello // a typed nil pointer still names its type
		}
		if got := wire.TypeOf(v); got != want {
			t.Errorf("TypeOf(%#v) = %s, want %s", v, got, want)
		}
	}

	for typ, msg := range fuzzSamples(t) {
		body, err := wire.Encode(msg)
		if err != nil {
			t.Fatalf("encode %T: %v", msg, err)
		}
		frame := wire.AppendFrame(nil, wire.TypeOf(msg), body)
		gotType, gotBody, err := wire.ReadFrame(bytes.NewReader(frame), 0)
		if err != nil || gotType != typ || !bytes.Equal(gotBody, body) {
			t.Fatalf("%s: frame read back as %s, %d bytes, %v", typ, gotType, len(gotBody), err)
		}
		got := fuzzMessageTypes[typ]()
		if err := wire.Decode(gotBody, got); err != nil {
			t.Fatalf("%s: decode: %v", typ, err)
		}
		if !reflect.DeepEqual(got, msg) {
			t.Errorf("%s: round trip changed\n%#v\ninto\n%#v", typ, msg, got)
		}
	}
}

// fuzzAllocated returns how many bytes fn allocated in the whole process.
func fuzzAllocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// fuzzReadChunk mirrors frameChunk in frame.go: what ReadFrame may allocate
// before bytes arrive.
const fuzzReadChunk = 32 << 10

// fuzzFrameAllocBound is the most ReadFrame may allocate for an input of n
// bytes: its buffer grows by doubling from fuzzReadChunk only as bytes arrive,
// so every buffer it makes is under twice the bytes read or fuzzReadChunk, and
// their sum under twice the largest. The rest covers the error value.
func fuzzFrameAllocBound(n int) uint64 {
	return 4*uint64(n) + 2*fuzzReadChunk + 4<<10
}

// fuzzHeader returns a frame header declaring n bytes.
func fuzzHeader(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// FuzzReadFrame holds ReadFrame to its contract on arbitrary input and caps:
// no panic; a frame it returns is exactly what the input framed and it read
// no further; an error is io.EOF for empty input and otherwise a
// *wire.FrameError of the right class that consumed no more than it should;
// and it allocates in proportion to the bytes present, never to a declared
// length. Every input is read whole and one byte per Read.
func FuzzReadFrame(f *testing.F) {
	for _, msg := range fuzzSamples(f) {
		body, err := wire.Encode(msg)
		if err != nil {
			f.Fatal(err)
		}
		fr := wire.AppendFrame(nil, wire.TypeOf(msg), body)
		f.Add(fr, 0)
		f.Add(fr, len(fr)-4)     // exactly at the cap
		f.Add(fr, len(fr)-5)     // one over the cap
		f.Add(fr[:len(fr)-1], 0) // one byte short
		f.Add(append(bytes.Clone(fr), fr...), 0)
	}
	f.Add([]byte{}, 0)
	f.Add([]byte{0, 0}, 0)
	f.Add(fuzzHeader(0), 0)
	f.Add(fuzzHeader(1), 0)
	f.Add(append(fuzzHeader(1), byte(wire.TypeAck)), 0)
	f.Add(append(fuzzHeader(1), 200), 0)
	f.Add(append(fuzzHeader(6), byte(wire.TypeGet), 0xdd, 0xff, 0xff, 0xff, 0xff), 0)
	f.Add(fuzzHeader(wire.MaxFrame+1), 0)
	f.Add(fuzzHeader(wire.MaxFrame), 0)
	f.Add(append(fuzzHeader(wire.MaxFrame), byte(wire.TypeGet), 0x91), 0)
	f.Add(append(fuzzHeader(0xffffffff), 1, 2, 3), -1)
	f.Add(append(fuzzHeader(100), byte(wire.TypeGet)), 64)
	f.Add(append(fuzzHeader(3*fuzzReadChunk), append([]byte{byte(wire.TypeGet)}, make([]byte, 2*fuzzReadChunk)...)...), 1<<20)
	f.Add(append(fuzzHeader(wire.MaxFrame), make([]byte, 100)...), wire.MaxFrame+1)

	f.Fuzz(func(t *testing.T, in []byte, max int) {
		fuzzCheckReadFrame(t, in, max, false)
		if len(in) <= 4<<10 {
			fuzzCheckReadFrame(t, in, max, true)
		}
	})
}

func fuzzCheckReadFrame(t *testing.T, in []byte, max int, oneByte bool) {
	t.Helper()
	limit := max
	if limit <= 0 || limit > wire.MaxFrame {
		limit = wire.MaxFrame
	}
	br := bytes.NewReader(in)
	var r io.Reader = br
	if oneByte {
		r = iotest.OneByteReader(br)
	}
	var (
		typ  wire.Type
		body []byte
		err  error
	)
	alloc := fuzzAllocated(func() { typ, body, err = wire.ReadFrame(r, max) })
	if bound := fuzzFrameAllocBound(len(in)); alloc > bound {
		t.Errorf("%d-byte input (max %d): ReadFrame fuzzAllocated %d bytes, bound %d", len(in), max, alloc, bound)
	}
	consumed := len(in) - br.Len()

	if len(in) == 0 {
		if err != io.EOF {
			t.Fatalf("empty input: err = %v, want io.EOF", err)
		}
		return
	}
	var declared uint32
	if len(in) >= 4 {
		declared = binary.BigEndian.Uint32(in)
	}
	if err == nil {
		if !typ.Known() {
			t.Fatalf("returned unknown type %d without error", typ)
		}
		if consumed != 5+len(body) {
			t.Fatalf("consumed %d bytes for a %d-byte body", consumed, len(body))
		}
		if want := wire.AppendFrame(nil, typ, body); !bytes.Equal(in[:consumed], want) {
			t.Fatalf("returned %s with a %d-byte body that is not the input's frame", typ, len(body))
		}
		if uint64(declared) > uint64(limit) {
			t.Fatalf("accepted a frame declaring %d bytes over the cap %d", declared, limit)
		}
		return
	}

	var fe *wire.FrameError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *wire.FrameError", err, err)
	}
	switch {
	case len(in) < 4:
		if !errors.Is(err, wire.ErrBadRequest) || consumed != len(in) {
			t.Fatalf("%d-byte fuzzHeader: err = %v, consumed %d", len(in), err, consumed)
		}
	case declared == 0:
		if !errors.Is(err, wire.ErrBadRequest) || consumed != 4 {
			t.Fatalf("length 0: err = %v, consumed %d", err, consumed)
		}
	case uint64(declared) > uint64(limit):
		if !errors.Is(err, wire.ErrTooLarge) || fe.Declared != declared || consumed != 4 {
			t.Fatalf("declared %d over cap %d: err = %v (declared %d), consumed %d, want ErrTooLarge after the fuzzHeader",
				declared, limit, err, fe.Declared, consumed)
		}
	case len(in) < 4+int(declared):
		if !errors.Is(err, wire.ErrBadRequest) || fe.Declared != declared || consumed != len(in) || body != nil {
			t.Fatalf("declared %d, %d present: err = %v, consumed %d", declared, len(in)-4, err, consumed)
		}
	default:
		// The whole frame is present, so only its type can be wrong; the
		// body is consumed and returned, keeping the stream in sync.
		if !errors.Is(err, wire.ErrUnknownType) || typ.Known() || typ != wire.Type(in[4]) ||
			consumed != 4+int(declared) || !bytes.Equal(body, in[5:consumed]) {
			t.Fatalf("complete frame of type %d: err = %v, type %d, consumed %d of %d, body %d bytes",
				in[4], err, typ, consumed, 4+declared, len(body))
		}
	}
}

// fuzzDecodeAllocBound is the most Decode may allocate for a body of n bytes.
// mpcheck has checked every declared length against the bytes present
// before the library decodes, so what it allocates grows with the input;
// the factor covers reflection's per-value work on the smallest values.
func fuzzDecodeAllocBound(n int) uint64 {
	return 64*uint64(n) + 16<<10
}

// fuzzAcceptedShape bounds what Decode may accept whatever the message
// (DESIGN.md §4: nesting depth is bounded). Depth 16 is more than any
// message needs; 65536 elements is the largest ring's owner table.
var fuzzAcceptedShape = mpcheck.Limits{MaxDepth: 16, MaxLen: ring.MaxPartitions}

// fuzzDeepArrays is n nested one-element arrays around a nil.
func fuzzDeepArrays(n int) []byte {
	return append(bytes.Repeat([]byte{0x91}, n), 0xc0)
}

// FuzzDecodeMessages decodes arbitrary bytes as every message type: no
// panic; a failure wraps wire.ErrBadRequest or wire.ErrTooLarge; allocation
// stays proportional to the input; only bounded shapes are accepted; and
// whatever decodes re-encodes to bytes that decode to an equal value and
// re-encode to the same bytes.
func FuzzDecodeMessages(f *testing.F) {
	for _, msg := range fuzzSamples(f) {
		body, err := wire.Encode(msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
		f.Add(append(bytes.Clone(body), 0xc0))
		f.Add(body[:len(body)-1])
	}
	for _, b := range [][]byte{
		{}, {0xc0}, {0x90}, {0x91, 0xc0}, {0x94, 0xc0, 0xc0, 0xc0, 0xc0},
		{0xdd, 0xff, 0xff, 0xff, 0xff}, {0xc6, 0xff, 0xff, 0xff, 0xff}, {0xdf, 0xff, 0xff, 0xff, 0xff},
		{0x91, 0xc1}, fuzzDeepArrays(64),
		{0x92, 0xcd, 0x00, 0x01, 0xa1, 'x'},                   // Hello with a uint16 version
		{0x92, 0xff, 0xa1, 'x'},                               // negative version
		{0x92, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xa1, 'x'}, // float version
		{0x92, 0x01, 0xc4, 0x01, 'x'},                         // bin cluster id
		{0x93, 0x01, 0xa1, 'x', 0xa1, 'n', 0xc0},              // an extra field
		{0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x02},              // a map, not an array
		{0x92, 0xc3, 0x92, 0x90, 0x90},                        // GetOK{true, empty set}
		{0x92, 0xc2, 0xc0},                                    // GetOK{false, nil}
		{0x91, 0x94, 0x01, 0x08, 0x91, 0x92, 0xa1, 'n', 0xa3, 'a', ':', '1', 0x98, 0, 0, 0, 0, 0, 0, 0, 0},
		{0xd6, 0xff, 0, 0, 0, 1}, // a timestamp
		// Deep nesting under a key no struct has: a decoder that skips it
		// recursively would take the whole depth.
		append([]byte{0x81, 0xa2, 'z', 'z'}, fuzzDeepArrays(100_000)...),
		append([]byte{0x81, 0xa2, 'z', 'z'}, fuzzDeepArrays(13)...),
		// Swim: a ping, an id in a str16 (refused), a claimed update count
		// over the cap (refused before allocating), an update of 3 fields.
		{0x94, 0x01, 0x05, 0xa2, 'n', '2', 0x90},
		{0x94, 0x01, 0x05, 0xda, 0x00, 0x02, 'n', '2', 0x90},
		{0x94, 0x05, 0x00, 0xa0, 0xdd, 0x00, 0x01, 0x00, 0x00},
		{0x94, 0x05, 0x00, 0xa0, 0x91, 0x93, 0xa1, 'n', 0x01, 0x01},
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		// Decode as every type first, measuring all of it at once (reading
		// memory statistics stops the world, so once per input), then check
		// each outcome.
		var msgs []any
		var errs []error
		alloc := fuzzAllocated(func() {
			for i := range 256 {
				if mk, ok := fuzzMessageTypes[wire.Type(i)]; ok {
					m := mk()
					msgs = append(msgs, m)
					errs = append(errs, wire.Decode(in, m))
				}
			}
		})
		if bound := uint64(len(msgs)) * fuzzDecodeAllocBound(len(in)); alloc > bound {
			t.Errorf("decoding %d bytes as each of %d types fuzzAllocated %d bytes, bound %d", len(in), len(msgs), alloc, bound)
		}
		for i, m := range msgs {
			fuzzCheckDecode(t, in, m, errs[i])
		}
	})
}

// fuzzCheckDecode checks the outcome err of decoding in into m.
func fuzzCheckDecode(t *testing.T, in []byte, m any, err error) {
	t.Helper()
	mk := func() any { return reflect.New(reflect.TypeOf(m).Elem()).Interface() }
	if err != nil {
		if !errors.Is(err, wire.ErrBadRequest) && !errors.Is(err, wire.ErrTooLarge) {
			t.Fatalf("decode %T: error %v wraps neither ErrBadRequest nor ErrTooLarge", m, err)
		}
		return
	}
	if cerr := mpcheck.Check(in, fuzzAcceptedShape); cerr != nil {
		t.Fatalf("decode %T accepted a body outside the bounded shape: %v", m, cerr)
	}
	b1, err := wire.Encode(m)
	if err != nil {
		t.Fatalf("%x decodes as %T %+v, which does not encode: %v", in, m, m, err)
	}
	m2 := mk()
	if err := wire.Decode(b1, m2); err != nil {
		t.Fatalf("%x decodes as %T %+v, whose encoding %x does not decode: %v", in, m, m, b1, err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("%x decodes as %T\n%#v\nbut its encoding %x decodes as\n%#v", in, m, m, b1, m2)
	}
	b2, err := wire.Encode(m2)
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("%T re-encodes as %x then %x (%v)", m, b1, b2, err)
	}
}
