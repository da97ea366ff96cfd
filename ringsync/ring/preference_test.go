package ring

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func ids(nodes []Node) []NodeID {
	out := make([]NodeID, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID
	}
	return out
}

// checkPreference checks one preference list against the naive walk.
func checkPreference(tb testing.TB, r *Ring, p, n int, primaries, fallbacks []Node) {
	tb.Helper()
	want := refWalk(r, p)
	k := min(max(n, 0), len(r.Nodes()))
	if len(primaries) != k {
		tb.Fatalf("p=%d N=%d: %d primaries, want %d", p, n, len(primaries), k)
	}
	all := append(ids(primaries), ids(fallbacks)...)
	if !slices.Equal(all, want) {
		tb.Fatalf("p=%d N=%d: preference %v, want walk %v", p, n, all, want)
	}
	// primaries+fallbacks is a permutation of the members.
	sorted := slices.Sorted(slices.Values(all))
	if !slices.Equal(sorted, ids(r.Nodes())) {
		tb.Fatalf("p=%d N=%d: preference %v is not a permutation of the members", p, n, all)
	}
	for _, nd := range append(slices.Clone(primaries), fallbacks...) {
		if got, _ := r.Node(nd.ID); got != nd {
			tb.Fatalf("p=%d: preference holds %v, member is %v", p, nd, got)
		}
	}
}

func TestPreferenceIsTheWalk(t *testing.T) {
	for seed := range uint64(80) {
		q, nodes, spare, rng := propertyCase(seed)
		r := mustNew(t, q, nodes)
		if len(nodes) < q {
			j, err := r.Join(spare[0])
			if err != nil {
				t.Fatal(err)
			}
			r = j
		}
		for p := rng.IntN(3); p < q; p += max(1, q/300) { // some 300 partitions per ring
			n := []int{3, 1, 0, -1, 5, len(r.Nodes()), len(r.Nodes()) + 2}[rng.IntN(7)]
			pri, fb := r.PreferenceOf(p, n)
			checkPreference(t, r, p, n, pri, fb)
		}
		var buf []Node
		for i := range 200 {
			key := fmt.Appendf(nil, "key-%d-%d", seed, i)
			pri, fb := r.Preference(key, 3)
			checkPreference(t, r, r.PartitionOf(key), 3, pri, fb)
			buf = r.AppendWalk(buf[:0], r.PartitionOf(key))
			checkPreference(t, r, r.PartitionOf(key), 0, nil, buf)
		}
	}
}

// With the walk cache disabled (rings over budget), answers are the same.
func TestPreferenceUncached(t *testing.T) {
	r := mustNew(t, 1024, seqNodes(40))
	cold := *r
	cold.walks = nil
	for p := range r.Partitions() {
		a1, b1 := r.PreferenceOf(p, 3)
		a2, b2 := cold.PreferenceOf(p, 3)
		if !slices.Equal(a1, a2) || !slices.Equal(b1, b2) {
			t.Fatalf("p=%d: cached and uncached walks differ", p)
		}
	}
	big := mustNew(t, MaxPartitions, seqNodes(300))
	if big.walks != nil {
		t.Fatal("a ring over the cache budget caches walks")
	}
	pri, fb := big.PreferenceOf(12345, 3)
	checkPreference(t, big, 12345, 3, pri, fb)
}

// The returned slices belong to the caller: changing them changes nothing
// else, and appending to primaries does not overwrite fallbacks.
func TestPreferenceSlicesAreOwned(t *testing.T) {
	r := mustNew(t, 64, seqNodes(6))
	pri, fb := r.PreferenceOf(7, 3)
	wantFB := slices.Clone(fb)
	_ = append(pri, Node{"x", "h:1"})
	if !slices.Equal(fb, wantFB) {
		t.Fatal("appending to primaries overwrote fallbacks")
	}
	pri[0] = Node{"x", "h:1"}
	again, _ := r.PreferenceOf(7, 3)
	if again[0].ID == "x" {
		t.Fatal("preference slices are shared")
	}
	if r.Nodes()[0].ID == "x" {
		t.Fatal("preference slices alias Nodes")
	}
}

func TestPreferenceConcurrent(t *testing.T) {
	r := mustNew(t, 1024, seqNodes(20))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				p := (i*7 + g) % r.Partitions()
				pri, fb := r.PreferenceOf(p, 3)
				if len(pri) != 3 || len(pri)+len(fb) != 20 {
					t.Errorf("p=%d: %d+%d nodes", p, len(pri), len(fb))
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPreferenceOfPanicsOutOfRange(t *testing.T) {
	r := mustNew(t, 64, seqNodes(3))
	defer func() {
		if recover() == nil {
			t.Fatal("PreferenceOf(64) did not panic")
		}
	}()
	r.PreferenceOf(64, 3)
}

func BenchmarkPreference(b *testing.B) {
	for _, n := range []int{8, 64, 256} {
		r := mustNew(b, DefaultPartitions, seqNodes(n))
		keys := make([][]byte, 4096)
		for i := range keys {
			keys[i] = fmt.Appendf(nil, "user:%08d", i)
		}
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Preference(keys[i%len(keys)], 3)
				i++
			}
		})
		b.Run(fmt.Sprintf("nodes=%d/append", n), func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]Node, 0, n)
			i := 0
			for b.Loop() {
				buf = r.AppendWalk(buf[:0], r.PartitionOf(keys[i%len(keys)]))
				i++
			}
		})
		cold := *r
		cold.walks = nil
		b.Run(fmt.Sprintf("nodes=%d/uncached", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				cold.Preference(keys[i%len(keys)], 3)
				i++
			}
		})
	}
}
