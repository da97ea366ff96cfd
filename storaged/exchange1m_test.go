package storaged_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/antientropy"
	"github.com/shoalkv/shoal/storaged/replica"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// TestExchangeOneMillionKeyPartition is issue 10's exchange benchmark, end
// to end through storaged: two replicas of one partition of 1,000,000
// objects that differ in 100 keys (50 newer on each side) are brought
// together by one exchange (a repair of that partition). It must cost at
// most 64 KiB of exchange messages and 4 round trips, and move exactly the
// 100 differing objects, each once: the 50 newer on the peer fetched, the 50
// newer here pushed. It loads two stores of a million objects (about a
// minute on the 2-core VM), so it runs only with SHOAL_BENCH_1M=1:
//
//	SHOAL_BENCH_1M=1 go test -count=1 -v -run TestExchangeOneMillionKeyPartition ./storaged/
func TestExchangeOneMillionKeyPartition(t *testing.T) {
	if os.Getenv("SHOAL_BENCH_1M") == "" {
		t.Skip("loads two 1,000,000-object stores; set SHOAL_BENCH_1M=1 to run it")
	}
	const (
		objects = 1_000_000
		differ  = 100
		parts   = 8
	)
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, func(cfg *storaged.Config) {
			cfg.Partitions = parts
			cfg.AntiEntropyInterval = -1 // only the repair below exchanges
			cfg.HintInterval = time.Hour
		})
		r, err := ring.New(parts, c.members)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		keys := make([][]byte, 0, objects)
		for i := 0; len(keys) < objects; i++ {
			if k := fmt.Appendf(nil, "k%08d", i); r.PartitionOf(k) == 0 {
				keys = append(keys, k)
			}
		}
		base := dvv.Actor{Node: "n1", Epoch: 7}
		value := make([]byte, 100)
		object := func(i int) dvv.Set {
			return dvv.Set{Siblings: []dvv.Sibling{{Dot: dvv.Dot{Actor: base, Counter: 1}, Value: value}}, VV: dvv.VV{{Actor: base, Counter: 1}}}
		}
		for _, id := range []string{"n1", "n2"} {
			load(t, filepath.Join(c.dir, id), r, keys, object)
		}
		t.Logf("loaded 2 x %d objects (wall time not meaningful in a bubble: %v virtual)", objects, time.Since(began))
		c.start("n1")
		c.start("n2")
		// 50 keys newer on n1, 50 on n2: each coordinated over the loaded
		// object's context, so each side holds a version the other lacks.
		for i := range differ {
			id := []string{"n1", "n2"}[i%2]
			k := keys[i*(objects/differ)]
			c.coordinate(id, "", string(k), "newer", object(0).VV)
		}
		var stats []antientropy.Stats
		var fetched, pushed int
		var mu sync.Mutex
		defer storaged.SetExchangeHook(func(p int, peer ring.NodeID, st antientropy.Stats, f, q int) {
			mu.Lock()
			defer mu.Unlock()
			stats = append(stats, st)
			fetched, pushed = fetched+f, pushed+q
		})()
		var ok wire.RepairOK
		c.must("n2", &wire.Repair{Partitions: wire.ExchangeIDs{0}}, &ok)
		for ok.Repair.Running {
			time.Sleep(100 * time.Millisecond)
			c.must("n2", &wire.RepairStatus{ID: ok.Repair.ID}, &ok)
		}
		if ok.Repair.Failed != 0 || len(stats) != 1 {
			t.Fatalf("repair: %+v, %d exchanges seen; want one exchange, no failure", ok.Repair, len(stats))
		}
		st := stats[0]
		bytes := st.BytesSent + st.BytesReceived
		t.Logf("one exchange: %d round trips, %d B of messages (%d sent, %d received): %d branches compared (%d differ), %d leaves (%d differ), %d keys (%d differ), %d clocks; %d to fetch and %d to push; objects fetched %d, pushed %d",
			st.RoundTrips, bytes, st.BytesSent, st.BytesReceived, st.Branches, st.BranchesDiffer, st.Leaves, st.LeavesDiffer, st.Keys, st.KeysDiffer, st.Clocks, st.Fetch, st.Push, fetched, pushed)
		if st.RoundTrips > 4 || bytes > 64<<10 {
			t.Errorf("the exchange took %d round trips and %d bytes, want at most 4 and 64 KiB", st.RoundTrips, bytes)
		}
		if st.KeysDiffer != differ || ok.Repair.KeysRepaired != differ {
			t.Errorf("%d keys found differing, %d repaired; want exactly the %d that differ", st.KeysDiffer, ok.Repair.KeysRepaired, differ)
		}
		// The clocks tell which side is newer: each differing object moves
		// once, towards the side that lacks its newer version.
		if fetched != differ/2 || pushed != differ/2 || st.Clocks != differ {
			t.Errorf("objects fetched %d and pushed %d, %d clocks compared; want %d, %d and %d", fetched, pushed, st.Clocks, differ/2, differ/2, differ)
		}
		for i := range differ {
			k := string(keys[i*(objects/differ)])
			if a, b := c.get("n1", k).Object, c.get("n2", k).Object; !a.Equal(b) {
				t.Fatalf("after the repair %s differs: n1 %v, n2 %v", k, values(a), values(b))
			}
		}
	})
}

// load writes object(i) under keys[i] into the store in dir, without fsync
// per write (the store is synced at Close), from 32 writers so that the
// commit loop batches them.
func load(t *testing.T, dir string, r *ring.Ring, keys [][]byte, object func(i int) dvv.Set) {
	t.Helper()
	st, err := store.Open(dir, store.Options{NoSync: true, Logger: testLogger(), Partition: r.PartitionOf, Partitions: r.Partitions()})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := replica.EncodeLocal(replica.Local{Object: object(0)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < len(keys); i += 32 {
				if err := st.Apply(context.Background(), store.Objects, keys[i], func([]byte) ([]byte, error) { return rec, nil }); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
