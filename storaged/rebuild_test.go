package storaged_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/internal/sim"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/pki"
)

// rebuildUnderWrites restarts a node that holds keys objects over 8
// partitions with its tree rebuild throttled to rate keys/s, and writes to
// it while the rebuild runs: in every chunk, after the chunk's snapshot,
// it overwrites one key the chunk scanned, deletes another and adds a new
// key, and a writer goroutine writes all along (keys already scanned, not
// yet scanned, new ones). It checks what a node that is rebuilding shows
// (status, exchanges refused as busy)
// and returns the node, once its trees are ready and every write has
// settled, with how long the rebuild took in virtual time.
func rebuildUnderWrites(t *testing.T, c *testCluster, keys int, rate int64) (*storaged.Server, time.Duration) {
	t.Helper()
	defer storaged.SetRebuildChunk(256)()
	c.start("n1")
	objs := make(map[string]dvv.Set, keys)
	for i := range keys {
		k := fmt.Sprintf("rb-%05d", i)
		objs[k] = c.coordinate("n1", "", k, "v1", nil)
	}
	c.stop("n1")

	var mu sync.Mutex
	var writeErrs []error
	write := func(req *wire.Coordinate) {
		if err := c.call("n1", req, &wire.Object{}); err != nil {
			mu.Lock()
			writeErrs = append(writeErrs, fmt.Errorf("%s: %w", req.Key, err))
			mu.Unlock()
		}
	}
	chunks := 0
	restore := storaged.SetRebuildChunkHook(func(p int, scanned []string) {
		chunks++
		if len(scanned) < 2 {
			return
		}
		write(&wire.Coordinate{Key: []byte(scanned[0]), Value: []byte("after the snapshot")})
		write(&wire.Coordinate{Key: []byte(scanned[1]), Tombstone: true, Context: objs[scanned[1]].VV})
		write(&wire.Coordinate{Key: []byte(fmt.Sprintf("rb-new-%d", chunks)), Value: []byte("new")})
	})
	defer restore()

	c.noWaitTrees = true
	began := time.Now()
	srv := c.start("n1")
	c.noWaitTrees = false
	synctest.Wait()
	if n := srv.TreesNotReady(); n == 0 {
		t.Fatalf("the rebuild was done at once; the test wants it throttled")
	}
	if st := c.status("n1"); st.TreesRebuilding == 0 {
		t.Errorf("status shows no partition rebuilding while the rebuild runs")
	}
	// A peer's exchange of a partition not ready yet is refused as busy.
	peer := c.peerEndpoint("n2")
	defer peer.Close()
	r, err := ring.New(8, c.members)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	err = peer.Call(ctx, c.addr("n1"), "n1", &wire.ExchangeTop{Partition: 7, RingVersion: r.Version(), Leaves: merkle.MinLeaves}, &wire.ExchangeTopOK{})
	cancel()
	if !errors.Is(err, wire.ErrBusy) {
		t.Errorf("an exchange of a partition still rebuilding: %v, want wire.ErrBusy", err)
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			write(&wire.Coordinate{Key: []byte(fmt.Sprintf("rb-%05d", (i*7919)%keys)), Value: []byte(fmt.Sprintf("w%d", i))})
			if i%5 == 0 {
				write(&wire.Coordinate{Key: []byte(fmt.Sprintf("rb-bg-%d", i)), Value: []byte("bg")})
			}
		}
	}()
	for srv.TreesNotReady() > 0 {
		time.Sleep(time.Millisecond)
	}
	took := time.Since(began)
	close(stop)
	<-done
	synctest.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(writeErrs) > 0 {
		t.Fatalf("%d writes during the rebuild failed, first: %v", len(writeErrs), writeErrs[0])
	}
	if chunks < keys/256 {
		t.Fatalf("the rebuild ran %d chunks for %d keys; want at least %d", chunks, keys, keys/256)
	}
	if st := c.status("n1"); st.TreesRebuilding != 0 || st.TreeKeys < uint64(keys/2) {
		t.Errorf("after the rebuild status shows %d partitions rebuilding and %d keys rebuilt; want 0 and about %d",
			st.TreesRebuilding, st.TreeKeys, keys)
	}
	t.Logf("rebuild of %d keys: %d chunks (restarts at larger sizes included), %v of virtual time", keys, chunks, took)
	return srv, took
}

// peerEndpoint makes an endpoint holding member id's node certificate on
// a client address of the simulated network: a peer, to the node it calls.
func (c *testCluster) peerEndpoint(id string) *wire.Endpoint {
	c.t.Helper()
	ep, err := wire.NewEndpoint(wire.EndpointConfig{
		PacketConn: c.net.Listen(sim.ClientAddr(1)), TLS: c.material(pki.RoleNode, id),
		ClusterID: testClusterID, Logger: testLogger(),
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return ep
}

// TestTreesRebuiltWhileServing: a node restarted with 9,000 objects over 8
// partitions (so each partition is several chunks, and its tree outgrows
// the smallest size and is started again larger) serves at once, rebuilds
// its trees at the throttle's pace, refuses exchanges of partitions not
// ready as busy, and, with writes landing all along (in the gap between a
// chunk's snapshot and its end too), ends with trees equal to a rebuild
// from the store, each sized for its partition.
func TestTreesRebuiltWhileServing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keys, rate = 9000, 3000
		c := newTestCluster(t, 2, func(cfg *storaged.Config) {
			cfg.Partitions = 8
			cfg.NoSync = true
			cfg.TreeRebuildRate = rate
			cfg.AntiEntropyInterval = -1
		})
		srv, took := rebuildUnderWrites(t, c, keys, rate)
		if min := time.Duration(keys/rate-1) * time.Second; took < min {
			t.Errorf("the rebuild of %d keys at %d keys/s took %v; the throttle allows no less than %v", keys, rate, took, min)
		}
		c.checkTrees("n1")
		for p := range 8 {
			if got, want := srv.TreeSize(p), merkle.LeavesFor(keys/8); got != want && got != 2*want && got != want/2 {
				t.Errorf("partition %d's rebuilt tree has %d leaves, want about %d", p, got, want)
			}
		}
	})
}

// TestTreesRebuiltWhileServingControl is the negative control: a rebuild
// whose chunks ignore what settled after their snapshot ends with trees
// that verify finds differing.
func TestTreesRebuiltWhileServingControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		defer storaged.SetRebuildSnapshotOnly()()
		c := newTestCluster(t, 2, func(cfg *storaged.Config) {
			cfg.Partitions = 8
			cfg.NoSync = true
			cfg.TreeRebuildRate = 3000
			cfg.AntiEntropyInterval = -1
		})
		srv, _ := rebuildUnderWrites(t, c, 9000, 3000)
		differ, _, err := srv.VerifyTrees()
		t.Logf("verify found partitions %v differing", differ)
		if err != nil || len(differ) == 0 {
			t.Fatalf("verify after a snapshot-only rebuild: differ %v, err %v; want partitions found differing", differ, err)
		}
	})
}
