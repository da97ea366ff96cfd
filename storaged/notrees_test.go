package storaged_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
)

// TestNoTrees: n1 runs without hash trees (Config.NoTrees) and holds 10
// keys the others lack; n2 and n3 run anti-entropy. n1 keeps no tree, runs
// no exchange of its own, refuses the others' (they count failures and
// never get the keys), refuses a repair of one partition and fails every
// exchange of a whole-node repair, naming the missing trees. The control,
// n1 with trees, has trees, and the others get every key.
func TestNoTrees(t *testing.T) {
	for _, noTrees := range []bool{true, false} {
		t.Run(fmt.Sprintf("no-trees=%v", noTrees), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ae := antiEntropy()
				c := newTestCluster(t, 3, func(cfg *storaged.Config) {
					ae(cfg)
					cfg.NoTrees = noTrees && cfg.ID == "n1"
				})
				for _, id := range []string{"n1", "n2", "n3"} {
					c.start(id)
				}
				for i := range 10 {
					c.coordinate("n1", "", fmt.Sprintf("key-%02d", i), "v", nil)
				}
				waitUntil(time.Now().Add(3 * aeInterval))
				n1, n2 := c.status("n1"), c.status("n2")
				if !noTrees {
					if n1.Trees == 0 || n2.Objects != 10 || n1.AEPartitions == 0 {
						t.Fatalf("control: n1 keeps %d trees and ran %d exchanges, n2 holds %d of 10 keys; want some, some, all",
							n1.Trees, n1.AEPartitions, n2.Objects)
					}
					return
				}
				if n1.Trees != 0 || n1.AEPartitions != 0 || n1.AEFailed != 0 {
					t.Fatalf("n1 without trees keeps %d trees, ran %d exchanges (%d failed); want none", n1.Trees, n1.AEPartitions, n1.AEFailed)
				}
				if n2.Objects != 0 || n2.AEFailed == 0 {
					t.Fatalf("n2 holds %d keys and counts %d failed exchanges; want none held, some failed", n2.Objects, n2.AEFailed)
				}
				_, err := c.startRepair("n1", 0)
				if !errors.Is(err, wire.ErrMismatch) || !strings.Contains(err.Error(), "without hash trees") {
					t.Fatalf("repair of one partition on n1: %v; want a mismatch naming the missing trees", err)
				}
				p := c.repair("n1")
				if p.Exchanges != 0 || p.Failed == 0 || len(p.Failures) == 0 || !strings.Contains(p.Failures[0].Error, "without hash trees") {
					t.Fatalf("whole-node repair on n1: %+v; want every exchange failed, naming the missing trees", p)
				}
			})
		})
	}
}
