package mpcheck_test

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/wire/mpcheck"
)

// gen makes random Go values that the msgpack library encodes into every
// format family. It is driven by a seeded *rand.Rand so a failure replays.
type gen struct{ r *rand.Rand }

// size returns a str, bin or ext length: mostly short, sometimes past the
// 8-bit and, rarely, the 16-bit length formats.
func (g gen) size() int {
	switch p := g.r.IntN(100); {
	case p < 90:
		return g.r.IntN(40)
	case p < 99:
		return g.r.IntN(400)
	default:
		return g.r.IntN(70_000)
	}
}

// count returns an array or map length, now and then past 15 (array16).
func (g gen) count() int {
	if g.r.IntN(10) == 0 {
		return g.r.IntN(40)
	}
	return g.r.IntN(6)
}

// bits returns a random unsigned value of random magnitude.
func (g gen) bits() uint64 { return g.r.Uint64() >> g.r.IntN(65) }

// value returns a random value nesting at most depth containers deep.
func (g gen) value(depth int) any {
	n := 19
	if depth <= 0 {
		n = 17
	}
	switch g.r.IntN(n) {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2:
		return int8(g.bits())
	case 3:
		return int16(g.bits())
	case 4:
		return int32(g.bits())
	case 5:
		return int64(g.bits())
	case 6:
		return uint8(g.bits())
	case 7:
		return uint16(g.bits())
	case 8:
		return uint32(g.bits())
	case 9:
		return g.bits()
	case 10:
		return int(g.bits()) // the library picks the most compact width
	case 11:
		return g.r.Float32()
	case 12:
		return g.r.NormFloat64()
	case 13:
		return string(g.bytes(g.size()))
	case 14:
		return g.bytes(g.size())
	case 15:
		secs := []int64{0, 1 << 31, 1 << 33, 1 << 40, -1}[g.r.IntN(5)]
		return time.Unix(secs+g.r.Int64N(1<<20), g.r.Int64N(2)*g.r.Int64N(1e9))
	case 16:
		return &testExt{data: g.bytes([]int{1, 2, 4, 8, 16, g.size()}[g.r.IntN(6)])}
	case 17:
		s := make([]any, g.count())
		for i := range s {
			s[i] = g.value(depth - 1)
		}
		return s
	default:
		m := make(map[string]any)
		for range g.count() {
			m[string(g.bytes(g.r.IntN(6)))] = g.value(depth - 1)
		}
		return m
	}
}

func (g gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

// interesting are bytes that declare huge lengths, nest, or are invalid.
var interesting = []byte{0xc1, 0xdd, 0xdf, 0xdb, 0xc6, 0xc9, 0xc7, 0xd8, 0xff, 0x00, 0x91, 0x81, 0x9f, 0x8f, 0xc0}

// mutate returns a copy of b with one to four random edits.
func (g gen) mutate(b []byte) []byte {
	b = append([]byte(nil), b...)
	for range 1 + g.r.IntN(4) {
		if len(b) == 0 {
			b = append(b, interesting[g.r.IntN(len(interesting))])
			continue
		}
		i := g.r.IntN(len(b))
		switch g.r.IntN(7) {
		case 0:
			b[i] = byte(g.r.Uint32())
		case 1:
			b[i] ^= 1 << g.r.IntN(8)
		case 2:
			b[i] = interesting[g.r.IntN(len(interesting))]
		case 3:
			b = append(b[:i], append([]byte{interesting[g.r.IntN(len(interesting))]}, b[i:]...)...)
		case 4:
			b = append(b[:i], b[i+1:]...)
		case 5:
			b = b[:i]
		case 6:
			for j := i; j < min(i+4, len(b)); j++ {
				b[j] = 0xff
			}
		}
	}
	return b
}

func TestPropertyEncodedValuesAccepted(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	for i := range 3000 {
		b := marshal(t, g.value(6), i%2 == 0)
		if err := mpcheck.Check(b, mpcheck.Limits{}); err != nil {
			t.Fatalf("value %d: Check(% x) = %v", i, clip(b), err)
		}
		verify(t, b, true)
	}
}

func TestPropertyMutations(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	total, accepted := 0, 0
	for range 300 {
		base := marshal(t, g.value(4), g.r.IntN(2) == 0)
		for range 40 {
			total++
			if verify(t, g.mutate(base), true) {
				accepted++
			}
		}
	}
	// Guard against a vacuous test: enough mutants must be accepted for
	// the decode cross-check to have run.
	if accepted < total/20 {
		t.Fatalf("only %d of %d mutants accepted; the mutator no longer exercises acceptance", accepted, total)
	}
	t.Logf("%d of %d mutants accepted", accepted, total)
}

// deepIn returns depth nested one-element arrays around a bin of n bytes.
func deepIn(depth, n int) []byte {
	b := deepArrays(depth)
	return append(append(b[:depth], 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n)), make([]byte, n)...)
}

// bytesPerRun returns the heap bytes f allocates per call, averaged.
func bytesPerRun(runs int, f func()) float64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(runs)
}

func TestCheckAllocations(t *testing.T) {
	deep := deepArrays(1 << 20)
	tests := []struct {
		name      string
		in        []byte
		lim       mpcheck.Limits
		allocs    float64 // most allocations per call
		bytes     float64 // most bytes allocated per call
		wantError bool
	}{
		{"1 KiB message", typicalMessage(t), mpcheck.Limits{}, 0, 0, false},
		{"1 MiB bin", marshal(t, make([]byte, 1<<20), false), mpcheck.Limits{}, 0, 0, false},
		{"32 deep with MaxDepth 1000", deepArrays(32), mpcheck.Limits{MaxDepth: 1000}, 0, 0, false},
		// A rejection costs a handful of small allocations: the *Error,
		// its reason and fmt's boxed arguments (more under -race). What
		// matters is that they do not grow with the declared length.
		{"array32 of 4G", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, mpcheck.Limits{}, 16, 1024, true},
		{"bin32 of 4GiB", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, mpcheck.Limits{}, 16, 1024, true},
		{"map32 of 4G", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, mpcheck.Limits{}, 16, 1024, true},
		{"1 MiB of nesting", deep, mpcheck.Limits{}, 16, 1024, true},
		// Past 32 levels the stack moves to the heap and doubles as it
		// grows: about 2 frames of 16 bytes per level reached.
		{"1 MiB of nesting, MaxDepth 2^20", deep, mpcheck.Limits{MaxDepth: 1 << 20}, 64, 3 * 16 * (1 << 20), false},
		{"40 deep in 1 MiB, MaxDepth 2^20", deepIn(40, 1<<20), mpcheck.Limits{MaxDepth: 1 << 20}, 2, 2048, false},
		{"1 MiB of nesting, MaxDepth 100", deep, mpcheck.Limits{MaxDepth: 100}, 16, 4096, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func() {
				if err := mpcheck.Check(tt.in, tt.lim); (err != nil) != tt.wantError {
					t.Fatalf("Check = %v, want error %v", err, tt.wantError)
				}
			}
			allocs, bytes := testing.AllocsPerRun(10, check), bytesPerRun(10, check)
			if allocs > tt.allocs || bytes > tt.bytes {
				t.Errorf("Check made %v allocations of %v bytes per call, want at most %v of %v",
					allocs, bytes, tt.allocs, tt.bytes)
			}
			t.Logf("%v allocations, %v bytes per call", allocs, bytes)
		})
	}
}

// TestDecodeAllocationIsLinear runs verify, measuring exactly, on accepted
// inputs shaped for the most decoder allocation per byte, at sizes where
// allocBound's slack no longer hides the factor.
func TestDecodeAllocationIsLinear(t *testing.T) {
	chain := append(bytes.Repeat([]byte{0x81, 0xa0}, 15), 0xc0) // 15 one-entry maps
	shapes := map[string][]byte{
		"nested one-entry maps": chain,
		"empty maps":            {0x80},
		"one-entry maps":        {0x81, 0xa0, 0xc0},
		"nested arrays":         deepArrays(15),
		"timestamps":            {0xd6, 0xff, 0, 0, 0, 1},
	}
	for _, name := range slices.Sorted(maps.Keys(shapes)) {
		for _, n := range []int{16, 256, 4096} {
			b := append([]byte{0xdc, byte(n >> 8), byte(n)}, bytes.Repeat(shapes[name], n)...)
			if !verify(t, b, true) {
				t.Fatalf("%s × %d: Check rejected it", name, n)
			}
		}
	}
}
