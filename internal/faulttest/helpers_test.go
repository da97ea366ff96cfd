// Package faulttest proves the always-writable promise (paper §4.6) with
// real storaged processes and real faults: sloppy quorum, hinted handoff,
// read repair and failure detection under kill -9, SIGSTOP and partitions.
package faulttest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// ctxT is testcluster.Context.
func ctxT(t *testing.T, d time.Duration) context.Context { return testcluster.Context(t, d) }

// keysOwnedBy returns count keys (prefix-i) whose N primaries include every
// node in owners.
func keysOwnedBy(r *ring.Ring, n int, prefix string, count int, owners ...string) []string {
	return keysWhere(r, n, prefix, count, func(primaries, _ []ring.Node) bool {
		for _, o := range owners {
			if !slices.ContainsFunc(primaries, func(x ring.Node) bool { return string(x.ID) == o }) {
				return false
			}
		}
		return true
	})
}

// keysWhere returns the first count keys prefix-0, prefix-1, ... whose
// preference list (N primaries, then fallbacks) in r satisfies ok. It
// loops until it finds them: ok must accept some partition.
func keysWhere(r *ring.Ring, n int, prefix string, count int, ok func(primaries, fallbacks []ring.Node) bool) []string {
	var out []string
	for i := 0; len(out) < count; i++ {
		k := fmt.Sprintf("%s-%d", prefix, i)
		if ok(r.Preference([]byte(k), n)) {
			out = append(out, k)
		}
	}
	return out
}

// nodeIndex returns the cluster index of node id.
func nodeIndex(t *testing.T, c *testcluster.Cluster, id string) int {
	for i, n := range c.Nodes {
		if string(n.ID) == id {
			return i
		}
	}
	t.Fatalf("no node %q", id)
	return -1
}

// pendingHints sums the hint records every reachable node reports, and
// says which nodes hold some.
func pendingHints(ctx context.Context, cl *driver.Client) (total uint64, holders map[string]uint64, unreachable int) {
	holders = map[string]uint64{}
	for _, s := range cl.Status(ctx) {
		if s.Err != nil {
			unreachable++
			continue
		}
		if s.Info.Hints > 0 {
			holders[string(s.Node.ID)] = s.Info.Hints
		}
		total += s.Info.Hints
	}
	return total, holders, unreachable
}

// waitHintsDrained polls until every node answers and none holds a hint, and
// returns how long that took; it fails the test after limit.
func waitHintsDrained(t *testing.T, ctx context.Context, cl *driver.Client, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		total, holders, unreachable := pendingHints(ctx, cl)
		if total == 0 && unreachable == 0 {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("hints not drained after %v: %d pending %v, %d nodes unreachable", limit, total, holders, unreachable)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
