package storaged_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// TestGetSkipsUnreadableHint: a hint record that cannot be decoded does not
// fail reads of its key; they answer with the rest, and delivery keeps the
// record for an operator, counted in the status, from its first pass on.
func TestGetSkipsUnreadableHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: object("n9", 1, "own")}, &wire.Ack{})
		c.must("n1", &wire.Replicate{Key: []byte("k"), Object: object("n9", 2, "hinted"), HintFor: "n2"}, &wire.Ack{})
		c.stop("n1")
		r, err := ring.New(ring.DefaultPartitions, c.members) // the node's layout of objects
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(filepath.Join(c.dir, "n1"), store.Options{Logger: testLogger(), Partition: r.PartitionOf, Partitions: r.Partitions()})
		if err != nil {
			t.Fatal(err)
		}
		hk, err := hint.Key([]byte("k"), "n2")
		if err != nil {
			t.Fatal(err)
		}
		corrupt := []byte{0x93, 0x01, 0x02, 0xc0} // a readable header, a nil object
		err = st.Apply(context.Background(), store.Hints, hk, func([]byte) ([]byte, error) { return corrupt, nil })
		if err := errors.Join(err, st.Close()); err != nil {
			t.Fatal(err)
		}
		c.start("n1")
		var g wire.GetOK
		if err := c.call("n1", &wire.Get{Key: []byte("k")}, &g); err != nil {
			t.Fatalf("get of a key with an unreadable hint: %v", err)
		}
		if !g.Found || !slices.Equal(values(g.Object), []string{"own"}) {
			t.Errorf("get = %v %q, want the node's own replica", g.Found, values(g.Object))
		}
		c.holdsFrom(c.pass("n1", 1), func() string { return fmt.Sprintf("n1 status %+v", c.status("n1")) }, func() bool {
			st := c.status("n1")
			return st.HintsKept == 1 && st.Hints == 1 && len(st.HintOwners) == 0
		})
	})
}

// TestCoordinateRefusesTooManyActors: a coordinated write that would give
// the key's version vector more actors than Limits.MaxContext is refused
// when it is coordinated, hinted or not, rather than stored and refused
// later by every replica.
func TestCoordinateRefusesTooManyActors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, func(cfg *storaged.Config) { cfg.Limits.MaxContext = 2 })
		c.start("n1")
		ctx := dvv.Merge(object("n8", 1, "a"), object("n9", 1, "b")).Context() // 2 actors: at the limit
		for _, owner := range []ring.NodeID{"", "n2"} {
			err := c.call("n1", &wire.Coordinate{Key: []byte("k"), Value: []byte("v"), Context: ctx, HintFor: owner}, &wire.Object{})
			var re *wire.RemoteError
			if !errors.As(err, &re) || re.Code != wire.CodeTooLarge || !strings.Contains(err.Error(), "version vector") || !strings.Contains(err.Error(), "fallback") || !strings.Contains(err.Error(), "fresh read") {
				t.Errorf("coordinate (hint for %q) adding a third actor: %v, want CodeTooLarge naming the version vector, what grows it and the remedy", owner, err)
			}
		}
		if st := c.status("n1"); st.Objects != 0 || st.Hints != 0 {
			t.Errorf("refused writes stored something: %d objects, %d hints", st.Objects, st.Hints)
		}
		o := c.coordinate("n1", "", "k", "v", object("n8", 1, "a").Context()) // 2 actors: accepted
		if len(o.VV) != 2 {
			t.Errorf("write at the limit: clock %v", o.VV)
		}
	})
}
