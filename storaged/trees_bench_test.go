package storaged

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire/clock"
	"github.com/shoalkv/shoal/wire/dvv"
)

// BenchmarkTreeUpkeep is what a write costs the trees on the commit loop:
// the delta of a 1 KiB object overwritten with a sibling-free successor
// (two Hash calls), staging it and applying it after the commit. Run:
//
//	go test ./storaged -run '^$' -bench TreeUpkeep -benchmem
func BenchmarkTreeUpkeep(b *testing.B) {
	val := make([]byte, 1024)
	a := dvv.Actor{Node: "n1", Epoch: 7}
	old, _ := dvv.Set{}.Update(a, nil, val, false)
	next, _ := old.Update(a, old.VV, val, false)
	t := newTrees(ring.DefaultPartitions)
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "user%012d", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := keys[i%len(keys)]
		t.stage(i%ring.DefaultPartitions, k, old, next)(true)
	}
}

// BenchmarkTreeRebuildChunked is the rebuild each start runs while the
// node serves (rebuild.go), unthrottled, over a bbolt store of 20,000
// objects of 100 bytes laid out in the ring's partitions: with 4096
// partitions (about 5 objects each: the cost per partition shows) and 16
// (1,250 each: the cost per key), reported in keys/s. Run:
//
//	go test ./storaged -run '^$' -bench TreeRebuildChunked
func BenchmarkTreeRebuildChunked(b *testing.B) {
	const keys = 20_000
	for _, parts := range []int{ring.DefaultPartitions, 16} {
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) {
			r, err := ring.New(parts, []ring.Node{{ID: "n1", Addr: "127.0.0.1:1"}})
			if err != nil {
				b.Fatal(err)
			}
			st := benchStore(b, keys, store.Options{NoSync: true, Partition: r.PartitionOf, Partitions: parts})
			s := &Server{st: st, cfg: Config{TreeRebuildRate: -1}, clock: clock.Or(nil), log: slog.New(slog.DiscardHandler)}
			for b.Loop() {
				s.trees = newTrees(parts)
				s.trees.rebuildAll()
				s.rebuildTrees(context.Background())
				if n := s.trees.status().rebuildKeys; n != keys || s.trees.notReady() != 0 {
					b.Fatalf("rebuild: %d keys, %d partitions not ready", n, s.trees.notReady())
				}
			}
			b.ReportMetric(float64(keys*b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

// benchStore opens a bbolt store with opts in a temporary directory, closed
// when the benchmark ends, holding keys objects of 100 bytes.
func benchStore(b *testing.B, keys int, opts store.Options) *store.Store {
	b.Helper()
	st, err := store.Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	a := dvv.Actor{Node: "n1", Epoch: 7}
	obj, _ := dvv.Set{}.Update(a, nil, make([]byte, 100), false)
	enc, err := dvv.EncodeSet(obj)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < keys; i += 16 {
				err := st.Apply(context.Background(), store.Objects, fmt.Appendf(nil, "user%012d", i),
					func([]byte) ([]byte, error) { return enc, nil })
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return st
}
