package ring

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// wireRing spells out a ring's wire form field by field, so tests can build
// encodings that New would never produce.
type wireRing struct {
	top     int // top-level array length; 0 means 4
	version uint64
	q       uint64
	nodes   [][]string
	owners  []uint64
}

func wireOf(r *Ring) wireRing {
	w := wireRing{version: r.Version(), q: uint64(r.Partitions())}
	for _, n := range r.Nodes() {
		w.nodes = append(w.nodes, []string{string(n.ID), n.Addr})
	}
	for p := range r.Partitions() {
		i, _ := r.index(r.Owner(p))
		w.owners = append(w.owners, uint64(i))
	}
	return w
}

func (w wireRing) bytes(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	top := w.top
	if top == 0 {
		top = 4
	}
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(e.EncodeArrayLen(top))
	fields := []func(){
		func() { must(e.EncodeUint(w.version)) },
		func() { must(e.EncodeUint(w.q)) },
		func() {
			must(e.EncodeArrayLen(len(w.nodes)))
			for _, n := range w.nodes {
				must(e.EncodeArrayLen(len(n)))
				for _, s := range n {
					must(e.EncodeString(s))
				}
			}
		},
		func() {
			must(e.EncodeArrayLen(len(w.owners)))
			for _, o := range w.owners {
				must(e.EncodeUint(o))
			}
		},
	}
	for i := range top {
		if i < len(fields) {
			fields[i]()
		} else {
			must(e.EncodeUint(0))
		}
	}
	return buf.Bytes()
}

func TestCodecRoundTrip(t *testing.T) {
	base := mustNew(t, 64, seqNodes(5))
	joined, err := base.Join(Node{ID: "zz-" + NodeID(strings.Repeat("é", 100)), Addr: "[2001:db8::1]:65535"})
	if err != nil {
		t.Fatal(err)
	}
	rings := []*Ring{
		base,
		joined,
		mustNew(t, MinPartitions, seqNodes(1)),
		mustNew(t, MaxPartitions, seqNodes(3)),
		mustNew(t, 4096, seqNodes(MaxNodes)),
		mustNew(t, 1024, seqNodes(200)),
	}
	for _, r := range rings {
		b, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(q=%d n=%d)): %v", r.Partitions(), len(r.Nodes()), err)
		}
		if !got.Equal(r) {
			t.Fatalf("q=%d n=%d: round trip changed the ring", r.Partitions(), len(r.Nodes()))
		}
		again, err := Encode(got)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("q=%d n=%d: re-encoding differs", r.Partitions(), len(r.Nodes()))
		}
		if !bytes.Equal(b, wireOf(r).bytes(t)) {
			t.Fatalf("q=%d n=%d: Encode differs from the documented layout", r.Partitions(), len(r.Nodes()))
		}
		pri, fb := got.PreferenceOf(r.Partitions()-1, 3)
		checkPreference(t, got, r.Partitions()-1, 3, pri, fb)
	}
}

// A ring embedded in a larger message goes through the msgpack interfaces.
func TestCodecEmbedded(t *testing.T) {
	type message struct {
		Kind string
		Ring *Ring
		Tail int
	}
	r := mustNew(t, 256, seqNodes(9))
	b, err := msgpack.Marshal(message{Kind: "ring", Ring: r, Tail: 7})
	if err != nil {
		t.Fatal(err)
	}
	var got message
	if err := msgpack.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "ring" || got.Tail != 7 || got.Ring == nil || !got.Ring.Equal(r) {
		t.Fatalf("embedded round trip gave %+v", got)
	}
	bad := wireOf(r)
	bad.owners[3] = 9
	b, err = msgpack.Marshal(message{Kind: "ring", Tail: 7})
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte{0xc0}, bad.bytes(t), 1) // the nil Ring field
	if err := msgpack.Unmarshal(b, &got); !errors.Is(err, ErrMalformed) {
		t.Fatalf("embedded bad ring: %v", err)
	}
}

func TestEncodeNil(t *testing.T) {
	if _, err := Encode(nil); err == nil {
		t.Fatal("Encode(nil) succeeded")
	}
}

// malformedCases are encodings Decode must reject, with the error each must
// match besides ErrMalformed.
func malformedCases(tb testing.TB) []struct {
	name string
	b    []byte
	also error
} {
	r := mustNew(tb, 64, seqNodes(3))
	valid := wireOf(r).bytes(tb)
	mut := func(f func(w *wireRing)) []byte {
		w := wireOf(r)
		w.nodes = slices.Clone(w.nodes)
		w.owners = slices.Clone(w.owners)
		f(&w)
		return w.bytes(tb)
	}
	// valid is [0x94, version 0x01, q 0x40, nodes 0x93 ..., owners 0xdc 0x00
	// 0x40, then 64 one-byte owners].
	owners := len(valid) - 67
	if valid[0] != 0x94 || valid[1] != 0x01 || valid[2] != 0x40 || valid[3] != 0x93 || valid[owners] != 0xdc {
		tb.Fatalf("unexpected layout % x", valid)
	}
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	return []struct {
		name string
		b    []byte
		also error
	}{
		{"empty", nil, nil},
		{"nil", []byte{0xc0}, nil},
		{"not an array", []byte{0x01}, nil},
		{"map", []byte{0x80}, nil},
		{"truncated", valid[:len(valid)-1], nil},
		{"truncated header", valid[:3], nil},
		{"trailing byte", cat(valid, []byte{0x00}), nil},
		{"trailing ring", cat(valid, valid), nil},
		{"three fields", mut(func(w *wireRing) { w.top = 3 }), nil},
		{"five fields", mut(func(w *wireRing) { w.top = 5 }), nil},
		{"version zero", mut(func(w *wireRing) { w.version = 0 }), nil},
		{"q not a power of two", mut(func(w *wireRing) { w.q = 63 }), ErrPartitions},
		{"q too small", mut(func(w *wireRing) { w.q = 4; w.owners = w.owners[:4] }), ErrPartitions},
		{"q too big", cat(valid[:2], []byte{0xce, 0x00, 0x02, 0x00, 0x00}, valid[3:]), nil},
		{"q negative", cat(valid[:2], []byte{0xff}, valid[3:]), nil},
		{"q as a string", cat(valid[:2], []byte{0xa1, '@'}, valid[3:]), nil},
		{"no nodes", mut(func(w *wireRing) { w.nodes = nil }), nil},
		{"nil nodes", cat(valid[:3], []byte{0xc0}, valid[owners:]), nil},
		{"more nodes than partitions", mut(func(w *wireRing) {
			w.q = 8
			w.owners = w.owners[:8]
			for i := range 9 {
				w.nodes = append(w.nodes, []string{"x" + string(rune('a'+i)), "h:1"})
			}
			w.nodes = w.nodes[3:]
		}), nil},
		{"duplicate ids", mut(func(w *wireRing) { w.nodes[1][0] = w.nodes[0][0] }), ErrDuplicateNode},
		{"unsorted ids", mut(func(w *wireRing) { w.nodes[0], w.nodes[1] = w.nodes[1], w.nodes[0] }), nil},
		{"empty id", mut(func(w *wireRing) { w.nodes[0][0] = "" }), ErrInvalidNode},
		{"id not utf-8", mut(func(w *wireRing) { w.nodes[2][0] = "n\xff" }), ErrInvalidNode},
		{"bad addr", mut(func(w *wireRing) { w.nodes[1][1] = "nowhere" }), ErrInvalidNode},
		{"long id", mut(func(w *wireRing) { w.nodes[2][0] = "n" + strings.Repeat("x", 300) }), nil},
		{"node of three fields", mut(func(w *wireRing) { w.nodes[0] = append(w.nodes[0], "x") }), nil},
		{"node of one field", mut(func(w *wireRing) { w.nodes[0] = w.nodes[0][:1] }), nil},
		{"owners short", mut(func(w *wireRing) { w.owners = w.owners[:63] }), nil},
		{"owners long", mut(func(w *wireRing) { w.owners = append(w.owners, 0) }), nil},
		{"owner out of range", mut(func(w *wireRing) { w.owners[10] = 3 }), nil},
		{"owner huge", mut(func(w *wireRing) { w.owners[10] = 1 << 40 }), nil},
		{"owner negative", cat(valid[:len(valid)-1], []byte{0xff}), nil},
		{"owner nil", cat(valid[:len(valid)-1], []byte{0xc0}), nil},
		{"node owns nothing", mut(func(w *wireRing) {
			for p := range w.owners {
				if w.owners[p] == 1 {
					w.owners[p] = 0
				}
			}
		}), nil},
		{"version not shortest", cat(valid[:1], []byte{0xcf, 0, 0, 0, 0, 0, 0, 0, 1}, valid[2:]), nil},
		{"q not shortest", cat(valid[:2], []byte{0xcd, 0x00, 0x40}, valid[3:]), nil},
		{"nodes header not shortest", cat(valid[:3], []byte{0xdc, 0x00, 0x03}, valid[4:]), nil},
		{"id as str8", cat(valid[:5], []byte{0xd9, 0x05}, valid[6:]), nil},
		{"id as bin", cat(valid[:5], []byte{0xc4, 0x05}, valid[6:]), nil},
		{"huge node count", cat(valid[:3], []byte{0xdd, 0xff, 0xff, 0xff, 0xff}), nil},
		{"huge owner count", cat([]byte{0x94, 0x01, 0xce, 0x00, 0x01, 0x00, 0x00}, valid[3:owners], []byte{0xdd, 0x00, 0x01, 0x00, 0x00}), nil},
		{"huge id", cat(valid[:5], []byte{0xdb, 0xff, 0xff, 0xff, 0xff}), nil},
		{"huge top array", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, nil},
		{"deep nesting", bytes.Repeat([]byte{0x91}, 100000), nil},
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range malformedCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Decode(tc.b)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %v, %v; want ErrMalformed", r, err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Fatalf("Decode = %v; want it to match %v too", err, tc.also)
			}
			if r != nil {
				t.Fatal("Decode returned a ring with an error")
			}
			if !strings.HasPrefix(err.Error(), "ring: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

// Declared lengths never drive allocation: a few bytes declaring the
// largest ring allocate a few kilobytes at most.
func TestDecodeAllocatesForWhatIsThere(t *testing.T) {
	for _, tc := range malformedCases(t) {
		if !strings.HasPrefix(tc.name, "huge") {
			continue
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const runs = 100
		for range runs {
			if _, err := Decode(tc.b); err == nil {
				t.Fatalf("%s: decoded", tc.name)
			}
		}
		runtime.ReadMemStats(&after)
		if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 16<<10 {
			t.Errorf("%s: %d bytes allocated per decode of %d bytes", tc.name, per, len(tc.b))
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, r := range []*Ring{
		mustNew(f, 8, seqNodes(1)),
		mustNew(f, 8, seqNodes(8)),
		mustNew(f, 64, seqNodes(5)),
		mustNew(f, 256, []Node{{"a", "[::1]:1"}, {NodeID(strings.Repeat("b", 40)), "host.example:65535"}}),
	} {
		b, err := Encode(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tc := range malformedCases(f) {
		f.Add(tc.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		if err := checkRing(r); err != nil {
			t.Fatalf("decoded a broken ring: %v", err)
		}
		again, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n% x\n% x", b, again)
		}
		p := r.PartitionOf(b)
		pri, fb := r.PreferenceOf(p, 3)
		if len(pri)+len(fb) != len(r.Nodes()) {
			t.Fatalf("preference of %d+%d nodes, ring has %d", len(pri), len(fb), len(r.Nodes()))
		}
		if len(r.Nodes()) < r.Partitions() {
			if _, err := r.Join(Node{"\x00fuzz", "h:1"}); err != nil {
				t.Fatalf("Join on a decoded ring: %v", err)
			}
		}
		if len(r.Nodes()) > 1 {
			if _, err := r.Leave(r.Nodes()[0].ID); err != nil {
				t.Fatalf("Leave on a decoded ring: %v", err)
			}
		}
	})
}
