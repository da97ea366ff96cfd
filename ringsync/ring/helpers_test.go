package ring

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// testNodes returns n nodes with random ids drawn from rng, in random order.
func testNodes(rng *rand.Rand, n int) []Node {
	nodes := make([]Node, 0, n)
	seen := make(map[NodeID]bool, n)
	for len(nodes) < n {
		id := NodeID(fmt.Sprintf("node-%x", rng.Uint32()))
		if seen[id] {
			continue
		}
		seen[id] = true
		nodes = append(nodes, Node{ID: id, Addr: fmt.Sprintf("10.%d.%d.%d:7000", len(nodes)/65536, len(nodes)/256%256, len(nodes)%256)})
	}
	return nodes
}

// seqNodes returns n nodes named n0000, n0001, ...
func seqNodes(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{ID: NodeID(fmt.Sprintf("n%04d", i)), Addr: fmt.Sprintf("127.0.0.1:%d", 7000+i)}
	}
	return nodes
}

func mustNew(tb testing.TB, q int, nodes []Node) *Ring {
	tb.Helper()
	r, err := New(q, nodes)
	if err != nil {
		tb.Fatalf("New(%d, %d nodes): %v", q, len(nodes), err)
	}
	return r
}

// loads returns how many partitions each member owns, by id.
func loads(r *Ring) map[NodeID]int {
	l := make(map[NodeID]int, len(r.Nodes()))
	for p := range r.Partitions() {
		l[r.Owner(p)]++
	}
	return l
}

// checkRing reports a broken structural invariant of r, or nil.
func checkRing(r *Ring) error {
	q := r.Partitions()
	if checkPartitions(q) != nil {
		return fmt.Errorf("bad partition count %d", q)
	}
	if r.Version() == 0 {
		return fmt.Errorf("version 0")
	}
	nodes := r.Nodes()
	if len(nodes) == 0 || len(nodes) > maxNodes(q) {
		return fmt.Errorf("%d nodes for %d partitions", len(nodes), q)
	}
	for i, n := range nodes {
		if err := validateNode(n); err != nil {
			return err
		}
		if i > 0 && nodes[i-1].ID >= n.ID {
			return fmt.Errorf("nodes not sorted and unique at %d", i)
		}
		if got, ok := r.Node(n.ID); !ok || got != n {
			return fmt.Errorf("Node(%q) = %v, %v", n.ID, got, ok)
		}
	}
	l := loads(r)
	for _, n := range nodes {
		if l[n.ID] == 0 {
			return fmt.Errorf("%q owns nothing", n.ID)
		}
	}
	if len(l) != len(nodes) {
		return fmt.Errorf("owners outside the member list")
	}
	return nil
}

// checkBalanced fails unless every member owns floor(Q/n) or ceil(Q/n)
// partitions and, where Q/n >= 10, within 10% of the mean.
func checkBalanced(tb testing.TB, r *Ring) {
	tb.Helper()
	if err := checkRing(r); err != nil {
		tb.Fatal(err)
	}
	q, n := r.Partitions(), len(r.Nodes())
	lo, hi := q/n, (q+n-1)/n
	mean := float64(q) / float64(n)
	for id, l := range loads(r) {
		if l < lo || l > hi {
			tb.Fatalf("q=%d n=%d: %q owns %d, want %d..%d", q, n, id, l, lo, hi)
		}
		if mean >= 10 && (float64(l) < 0.9*mean || float64(l) > 1.1*mean) {
			tb.Fatalf("q=%d n=%d: %q owns %d, more than 10%% from the mean %.1f", q, n, id, l, mean)
		}
	}
}

// changed returns the partitions whose owner differs between a and b.
func changed(a, b *Ring) []int {
	var ps []int
	for p := range a.Partitions() {
		if a.Owner(p) != b.Owner(p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// refWalk is the preference walk spelled out naively: every distinct owner
// in clockwise order from p.
func refWalk(r *Ring, p int) []NodeID {
	var ids []NodeID
	seen := make(map[NodeID]bool)
	for i := 0; i < r.Partitions() && len(ids) < len(r.Nodes()); i++ {
		id := r.Owner((p + i) % r.Partitions())
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// spread returns the fraction of partitions whose spread window (the
// partition and the next window-1) has distinct owners, and the fewest
// distinct successors any member's partitions have.
func spread(r *Ring) (float64, int) {
	q := r.Partitions()
	w := window(len(r.Nodes()))
	good := 0
	succ := make(map[NodeID]map[NodeID]bool)
	for p := range q {
		ids := make(map[NodeID]bool)
		for d := range w {
			ids[r.Owner((p+d)%q)] = true
		}
		if len(ids) == w {
			good++
		}
		o := r.Owner(p)
		if succ[o] == nil {
			succ[o] = make(map[NodeID]bool)
		}
		succ[o][r.Owner((p+1)%q)] = true
	}
	fewest := q
	for _, s := range succ {
		fewest = min(fewest, len(s))
	}
	return float64(good) / float64(q), fewest
}
