package storaged_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/shoalkv/shoal/internal/mutant"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Ports of riak_test's kv679 tests (riak_kv#679: a new write silently lost
// to an old incarnation of its key), on nodes with real bbolt files: the
// fix is per-key actor epochs (storaged/replica/local.go) and the store's
// check for a rewound data file (storaged/store/seen.go).

// reap deletes key from stopped member id's store, as a tombstone reaper
// would (Shoal collects no tombstones yet; the kv679 scenarios need one).
func (c *testCluster) reap(id, key string) {
	c.t.Helper()
	if _, ok := c.running[id]; ok {
		c.t.Fatalf("reap on %s while it runs", id)
	}
	r, err := ring.New(ring.DefaultPartitions, c.members)
	if err != nil {
		c.t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(c.dir, id), store.Options{Logger: testLogger(), Partition: r.PartitionOf, Partitions: r.Partitions()})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := st.Delete(context.Background(), store.Objects, []byte(key)); err != nil {
		c.t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		c.t.Fatal(err)
	}
}

// union is the merge of every running member's copy of key: what the
// replicas converge to once they have all synced.
func (c *testCluster) union(key string, ids ...string) dvv.Set {
	c.t.Helper()
	var out dvv.Set
	for _, id := range ids {
		out = dvv.Merge(out, c.get(id, key).Object)
	}
	return out
}

// TestKV679Tombstone (riak_test kv679_tombstone): a key's tombstone reaches
// two primaries (n1, n2) and a fallback (n4, holding it for n3), and the
// fallback goes down; the primaries reap the tombstone. A new write of the
// key through n1 must survive the old tombstone when the fallback comes
// back and hands it to n3. The control, every key under the node's one
// actor (as before per-key epochs), loses it: the new write restarts the
// counter under dots the tombstone covers.
func TestKV679Tombstone(t *testing.T) {
	for _, control := range []bool{false, true} {
		name := "per-key actors"
		if control {
			name = "control: one actor per node"
		}
		t.Run(name, func(t *testing.T) {
			mutant.Set(mutant.NodeActorForEveryKey, control)
			defer mutant.Set(mutant.NodeActorForEveryKey, false)
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 4, nil)
				c.start("n1")
				c.start("n2")
				c.start("n4") // n3 is down: n4 stands in for it
				v1 := c.coordinate("n1", "", "k", "v1", nil)
				c.must("n2", &wire.Replicate{Key: []byte("k"), Object: v1}, &wire.Ack{})
				c.must("n4", &wire.Replicate{Key: []byte("k"), Object: v1, HintFor: "n3"}, &wire.Ack{})
				tomb := c.tombstone("n1", "k", v1.VV)
				c.must("n2", &wire.Replicate{Key: []byte("k"), Object: tomb}, &wire.Ack{})
				c.must("n4", &wire.Replicate{Key: []byte("k"), Object: tomb, HintFor: "n3"}, &wire.Ack{})
				c.stop("n4")
				for _, id := range []string{"n1", "n2"} {
					c.stop(id)
					c.reap(id, "k")
					c.start(id)
				}
				v2 := c.coordinate("n1", "", "k", "v2", nil) // the key is absent everywhere live
				c.must("n2", &wire.Replicate{Key: []byte("k"), Object: v2}, &wire.Ack{})

				c.start("n3")
				c.start("n4")
				waitUntil(c.nextPass("n4", c.started["n4"]))
				if got := c.get("n3", "k").Object; !got.Equal(tomb) {
					t.Fatalf("n3 holds %v after n4's first pass, want the old tombstone handed off", got)
				}
				got := values(c.union("k", "n1", "n2", "n3"))
				survived := slices.Contains(got, "v2")
				switch {
				case !control && !survived:
					t.Fatalf("the new write was lost to the old tombstone: the replicas converge to %q", got)
				case control && survived:
					t.Fatalf("control: the new write survived (%q); the checker would not see the loss", got)
				}
				t.Logf("the replicas converge to %q", got)
			})
		})
	}
}

// TestKV679DataLoss (riak_test kv679_dataloss): a node whose data file is
// wiped, or replaced by an old copy of itself, while its later writes of a
// key live on the peers (v2 on n2 and n3, v3 on n2 only), writes the key
// again, blind or over what a peer answered. The new write must survive:
// a wiped or rewound file takes a new store epoch (every key a new actor),
// and a context that counts more of the key's actor than the node holds
// makes the write take a fresh one. Two controls show the loss the checker
// catches: a copy of the whole directory (the seen file too) restored
// under a blind write, which is beyond what a node can see by itself, and
// the mutant that keeps the key's actor whatever the context says.
func TestKV679DataLoss(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restore string // "file", "dir", or "wipe"
		context bool   // write over n3's copy, not blind
		mutant  bool   // KeyEpochReused
		lost    bool   // what must happen
	}{
		{name: "restored file, blind write", restore: "file"},
		{name: "restored file, write over a peer's copy", restore: "file", context: true},
		{name: "wiped directory, blind write", restore: "wipe"},
		{name: "restored directory, write over a peer's copy", restore: "dir", context: true},
		{name: "control: restored directory, blind write", restore: "dir", lost: true},
		{name: "control: restored directory, write over a peer's copy, key actor kept", restore: "dir", context: true, mutant: true, lost: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 3, nil)
				for _, id := range []string{"n1", "n2", "n3"} {
					c.start(id)
				}
				dir := filepath.Join(c.dir, "n1")
				v1 := c.coordinate("n1", "", "k", "v1", nil)
				c.must("n2", &wire.Replicate{Key: []byte("k"), Object: v1}, &wire.Ack{})
				c.must("n3", &wire.Replicate{Key: []byte("k"), Object: v1}, &wire.Ack{})
				c.stop("n1")
				saved := t.TempDir()
				copyDir(t, dir, saved, tc.restore == "dir")
				c.start("n1")
				v2 := c.coordinate("n1", "", "k", "v2", v1.VV)
				c.must("n2", &wire.Replicate{Key: []byte("k"), Object: v2}, &wire.Ack{})
				c.must("n3", &wire.Replicate{Key: []byte("k"), Object: v2}, &wire.Ack{})
				v3 := c.coordinate("n1", "", "k", "v3", v2.VV)
				c.must("n2", &wire.Replicate{Key: []byte("k"), Object: v3}, &wire.Ack{})
				c.stop("n1")
				switch tc.restore {
				case "wipe":
					if err := os.RemoveAll(dir); err != nil {
						t.Fatal(err)
					}
				default:
					copyDir(t, saved, dir, tc.restore == "dir")
				}
				c.start("n1")

				mutant.Set(mutant.KeyEpochReused, tc.mutant)
				defer mutant.Set(mutant.KeyEpochReused, false)
				var ctx dvv.VV
				if tc.context {
					ctx = c.get("n3", "k").Object.VV // v2's clock
				}
				v4 := c.coordinate("n1", "", "k", "v4", ctx)
				acks, refused := 1, 0 // the coordinator's
				for _, id := range []string{"n2", "n3"} {
					err := c.call(id, &wire.Replicate{Key: []byte("k"), Object: v4}, &wire.Ack{})
					switch {
					case err == nil:
						acks++
					case errors.Is(err, wire.ErrDotConflict):
						refused++
					default:
						t.Fatalf("replicate to %s: %v", id, err)
					}
				}
				got := values(c.union("k", "n1", "n2", "n3"))
				survived := slices.Contains(got, "v4") && refused == 0
				t.Logf("v4 acknowledged by %d of 3, refused as a reused dot by %d; the replicas converge to %q", acks, refused, got)
				if acks < 2 {
					t.Fatalf("v4 reached W=2 on only %d nodes", acks)
				}
				if survived == tc.lost {
					t.Fatalf("v4 survived=%v, want %v", survived, !tc.lost)
				}
			})
		})
	}
}

// copyDir copies a data directory's database file from one directory to
// another, and with all also its seen file (a copy of the whole directory).
func copyDir(t *testing.T, from, to string, all bool) {
	t.Helper()
	names := []string{"shoal.db"}
	if all {
		names = append(names, "shoal.db.seen")
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(from, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
