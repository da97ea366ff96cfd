package faulttest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
)

// TestRestoredDataFileKeepsNewWrites is riak_test kv679_dataloss with real
// storaged processes (fsync on): a key's coordinator (n1, its first
// primary) is stopped, its data file copied; it writes the key twice more;
// it is stopped again and the old copy restored over its file. A blind
// write of the key through it must survive: the store sees its file is
// older than the directory has seen (shoal.db.seen) and takes a new epoch,
// so the write gets a dot the peers have never seen. The control restores
// the whole directory, seen file included, which a node cannot tell from
// its own state: the write, acknowledged at W=2, reuses a dot the peers
// count as seen and is lost (README, "Not built yet").
func TestRestoredDataFileKeepsNewWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		seen bool // restore the seen file too
	}{
		{"data file restored", false},
		{"control: whole directory restored", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testcluster.Start(t, testcluster.Options{Nodes: 3})
			cl := c.Client(nil)
			ctx := ctxT(t, 2*time.Minute)
			n1 := nodeIndex(t, c, "n1")
			key := []byte(firstPrimary(t, cl, "kv679", "n1"))
			all := []driver.Option{driver.WithR(3)}

			put := func(value string, withContext bool) {
				t.Helper()
				var vctx driver.Context
				if withContext {
					g, err := cl.Get(ctx, key, all...)
					if err != nil {
						t.Fatalf("read before %s: %v", value, err)
					}
					vctx = g.Context
				}
				if _, err := cl.Put(ctx, key, []byte(value), vctx, driver.WithW(3)); err != nil {
					t.Fatalf("put %s: %v", value, err)
				}
			}
			put("v1", false)
			c.Stop(n1)
			saved := t.TempDir()
			copyFiles(t, c.Nodes[n1].DataDir, saved, tc.seen)
			c.Restart(n1)
			put("v2", true)
			put("v3", true)
			c.Stop(n1)
			copyFiles(t, saved, c.Nodes[n1].DataDir, tc.seen)
			c.Restart(n1)

			if _, err := cl.Put(ctx, key, []byte("v4"), nil); err != nil { // blind, W=2
				t.Fatalf("put v4 through the restored node: %v", err)
			}
			g, err := cl.Get(ctx, key, all...)
			if err != nil {
				t.Fatalf("read after v4: %v", err)
			}
			var got []string
			for _, v := range g.Values {
				got = append(got, string(v))
			}
			kept := slices.Contains(got, "v4")
			t.Logf("%s: a read of all three replicas returns %q", tc.name, got)
			switch {
			case !tc.seen && !kept:
				t.Fatalf("the write through the restored node was lost: %q", got)
			case tc.seen && kept:
				t.Fatalf("control: the write survived a restored directory (%q); the check would not see a loss", got)
			}
		})
	}
}

// firstPrimary returns a key (prefix-i) whose first primary is node id.
func firstPrimary(t *testing.T, cl *driver.Client, prefix, id string) string {
	t.Helper()
	for _, k := range keysOwnedBy(cl.Ring(), 3, prefix, 200, id) {
		if p, _ := cl.Ring().Preference([]byte(k), 3); string(p[0].ID) == id {
			return k
		}
	}
	t.Fatalf("no key of prefix %s has %s first", prefix, id)
	return ""
}

// copyFiles copies a data directory's database file (and with seen its
// seen file) from one directory to another.
func copyFiles(t *testing.T, from, to string, seen bool) {
	t.Helper()
	names := []string{"shoal.db"}
	if seen {
		names = append(names, "shoal.db.seen")
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
