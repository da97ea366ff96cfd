package storaged_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/storaged/store/memstore"
	"github.com/shoalkv/shoal/wire"
)

// TestDamagedRecordIsMissingUntilRepaired: a record whose checksum fails is
// never served (a get finds nothing), a coordinated write over it is refused
// (it could repeat a dot the lost record held), and a replicate from a peer
// writes a good record over it, after which the key serves and coordinates
// again.
func TestDamagedRecordIsMissingUntilRepaired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		disk := memstore.NewDisk()
		c := newTestCluster(t, 2, func(cfg *storaged.Config) {
			st, err := disk.Open(memOptions(cfg, memstore.Options{}))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Store = st
		})
		c.start("n1")
		held := c.coordinate("n1", "", "k", "v1", nil)
		c.stop("n1")
		rec, ok := disk.Record(store.Objects, []byte("k"))
		if !ok {
			t.Fatal("no record for k")
		}
		rec[len(rec)-1] ^= 0x01 // one bit of the value
		if err := disk.SetRecord(store.Objects, []byte("k"), rec); err != nil {
			t.Fatal(err)
		}
		c.start("n1")
		if g := c.get("n1", "k"); g.Found {
			t.Fatalf("a damaged record was served: %q", values(g.Object))
		}
		err := c.call("n1", &wire.Coordinate{Key: []byte("k"), Value: []byte("v2"), Context: held.VV}, &wire.Object{})
		if !errors.Is(err, wire.ErrStorage) {
			t.Fatalf("coordinate over a damaged record: %v, want a storage error", err)
		}
		// A peer's copy repairs it.
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: held}, &wire.Ack{})
		if g := c.get("n1", "k"); !g.Found || !g.Object.Equal(held) {
			t.Fatalf("after the repair n1 serves %v (found %v), want the held object", values(g.Object), g.Found)
		}
		// The damaged record's key epoch went with it: the next write takes
		// a fresh actor, so no dot the lost record issued is issued again.
		next := c.coordinate("n1", "", "k", "v2", held.VV)
		old := held.Siblings[0].Dot.Actor
		if got := values(next); len(got) != 1 || got[0] != "v2" || next.Siblings[0].Dot.Actor == old || next.Siblings[0].Dot.Counter != 1 {
			t.Fatalf("write after the repair: %q at %v, want v2 at counter 1 of an actor other than %s", got, next.Siblings[0].Dot, old)
		}
	})
}
