package ring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// propertyCase draws a member set of 1 to 64 nodes and a partition count.
func propertyCase(seed uint64) (q int, nodes, spare []Node, rng *rand.Rand) {
	rng = rand.New(rand.NewPCG(seed, 0x5eed))
	n := 1 + rng.IntN(64)
	q = []int{64, 1024, 4096}[rng.IntN(3)]
	all := testNodes(rng, n+8)
	return q, all[:n], all[n:], rng
}

const propertyCases = 300

func TestNewBalanced(t *testing.T) {
	for seed := range uint64(propertyCases) {
		q, nodes, _, _ := propertyCase(seed)
		r := mustNew(t, q, nodes)
		checkBalanced(t, r)
		if r.Version() != 1 {
			t.Fatalf("version %d", r.Version())
		}
	}
}

// Join moves exactly the newcomer's share, floor(Q/(n+1)), all of it to the
// newcomer, and keeps the ring balanced (Dynamo §6.2, strategy 3).
func TestJoinMovesOnlyTheNewcomersShare(t *testing.T) {
	for seed := range uint64(propertyCases) {
		q, nodes, spare, _ := propertyCase(seed)
		if len(nodes) == q {
			continue
		}
		r := mustNew(t, q, nodes)
		j, err := r.Join(spare[0])
		if err != nil {
			t.Fatalf("seed %d: Join: %v", seed, err)
		}
		checkBalanced(t, j)
		want := q / (len(nodes) + 1)
		moved := changed(r, j)
		if len(moved) != want || r.Moves(j) != want {
			t.Fatalf("seed %d: q=%d n=%d: Join moved %d (Moves %d), want %d", seed, q, len(nodes), len(moved), r.Moves(j), want)
		}
		for _, p := range moved {
			if j.Owner(p) != spare[0].ID {
				t.Fatalf("seed %d: partition %d moved to %q, not the newcomer", seed, p, j.Owner(p))
			}
		}
		if j.Version() != r.Version()+1 || len(j.Nodes()) != len(nodes)+1 {
			t.Fatalf("seed %d: version %d, %d nodes", seed, j.Version(), len(j.Nodes()))
		}
		if r.Version() != 1 || len(r.Nodes()) != len(nodes) || r.Moves(mustNew(t, q, nodes)) != 0 {
			t.Fatalf("seed %d: Join changed its receiver", seed)
		}
	}
}

// Leave moves exactly the leaver's partitions and keeps the ring balanced.
func TestLeaveMovesOnlyTheLeaversPartitions(t *testing.T) {
	for seed := range uint64(propertyCases) {
		q, nodes, _, rng := propertyCase(seed)
		if len(nodes) == 1 {
			continue
		}
		r := mustNew(t, q, nodes)
		gone := nodes[rng.IntN(len(nodes))].ID
		l, err := r.Leave(gone)
		if err != nil {
			t.Fatalf("seed %d: Leave: %v", seed, err)
		}
		checkBalanced(t, l)
		if !slices.Equal(changed(r, l), r.OwnedBy(gone)) || r.Moves(l) != len(r.OwnedBy(gone)) {
			t.Fatalf("seed %d: Leave moved %v, want the leaver's %v", seed, changed(r, l), r.OwnedBy(gone))
		}
		if _, ok := l.Node(gone); ok || l.Version() != 2 || len(l.Nodes()) != len(nodes)-1 {
			t.Fatalf("seed %d: leaver still a member or version %d", seed, l.Version())
		}
	}
}

func TestJoinThenLeaveKeepsBalance(t *testing.T) {
	for seed := range uint64(propertyCases) {
		q, nodes, spare, _ := propertyCase(seed)
		if len(nodes) == q {
			continue
		}
		r := mustNew(t, q, nodes)
		j, err := r.Join(spare[0])
		if err != nil {
			t.Fatal(err)
		}
		l, err := j.Leave(spare[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		checkBalanced(t, l)
		if j.Moves(l) != len(j.OwnedBy(spare[0].ID)) || l.Version() != 3 {
			t.Fatalf("seed %d: Leave after Join moved %d, version %d", seed, j.Moves(l), l.Version())
		}
		if !slices.Equal(l.Nodes(), r.Nodes()) {
			t.Fatalf("seed %d: members differ after Join and Leave", seed)
		}
	}
}

// Long random histories of joins and leaves stay balanced, deterministic,
// and move only what each change must.
func TestChangeHistories(t *testing.T) {
	for seed := range uint64(40) {
		q, nodes, _, rng := propertyCase(seed)
		r := mustNew(t, q, nodes)
		replay := mustNew(t, q, nodes)
		next := 0
		for step := range 30 {
			var to, again *Ring
			var err error
			members := r.Nodes()
			if len(members) > 1 && (rng.IntN(2) == 0 || len(members) == min(q, 64)) {
				gone := members[rng.IntN(len(members))].ID
				to, err = r.Leave(gone)
				if err == nil && r.Moves(to) != len(r.OwnedBy(gone)) {
					t.Fatalf("seed %d step %d: Leave moved %d, leaver owned %d", seed, step, r.Moves(to), len(r.OwnedBy(gone)))
				}
				if err == nil {
					again, err = replay.Leave(gone)
				}
			} else {
				n := Node{ID: NodeID(fmt.Sprintf("new-%03d", next)), Addr: "10.1.1.1:7000"}
				next++
				to, err = r.Join(n)
				if err == nil && r.Moves(to) != q/(len(members)+1) {
					t.Fatalf("seed %d step %d: Join moved %d, want %d", seed, step, r.Moves(to), q/(len(members)+1))
				}
				if err == nil {
					again, err = replay.Join(n)
				}
			}
			if err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			checkBalanced(t, to)
			if !to.Equal(again) {
				t.Fatalf("seed %d step %d: replaying the same changes gave another ring", seed, step)
			}
			r, replay = to, again
		}
	}
}

func TestJoinLeaveRejects(t *testing.T) {
	r := mustNew(t, 8, seqNodes(7))
	if _, err := r.Join(Node{"n0003", "h:1"}); !errors.Is(err, ErrDuplicateNode) {
		t.Fatalf("Join(member) = %v", err)
	}
	if _, err := r.Join(Node{"x", ""}); !errors.Is(err, ErrInvalidNode) {
		t.Fatalf("Join(bad addr) = %v", err)
	}
	full, err := r.Join(Node{"x", "h:1"})
	if err != nil {
		t.Fatal(err)
	}
	checkBalanced(t, full)
	if _, err := full.Join(Node{"y", "h:1"}); !errors.Is(err, ErrTooManyNodes) {
		t.Fatalf("Join(9th node, 8 partitions) = %v", err)
	}
	if _, err := r.Leave("nope"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("Leave(stranger) = %v", err)
	}
	one := mustNew(t, 8, seqNodes(1))
	if _, err := one.Leave("n0000"); !errors.Is(err, ErrNoNodes) {
		t.Fatalf("Leave(last) = %v", err)
	}
	old := *one
	old.version = math.MaxUint64
	if _, err := old.Join(Node{"x", "h:1"}); !errors.Is(err, ErrVersion) {
		t.Fatalf("Join at the last version = %v", err)
	}
}

// Assignment spreads each node's partitions: consecutive partitions have
// different owners, so a walk meets N = 3 replicas in about three steps, and
// each node's partitions are followed by many different nodes, so a dead
// node's load falls on many others. These are best-effort goals (Join and
// Leave may not move other partitions to fix a window), so the thresholds
// leave room; they still fail for a layout that clusters ownership.
func TestSpread(t *testing.T) {
	for seed := range uint64(propertyCases) {
		q, nodes, spare, _ := propertyCase(seed)
		r := mustNew(t, q, nodes)
		// Allowed shares of windows with a repeated owner: a few windows at
		// the wrap of a small ring, or a few percent.
		tight, loose := 1-max(4/float64(q), 0.01), 1-max(8/float64(q), 0.05)
		frac, fewest := spread(r)
		if frac < tight {
			t.Fatalf("seed %d: q=%d n=%d: New: %.3f of windows distinct", seed, q, len(nodes), frac)
		}
		if n := len(nodes); n >= 8 && q/n >= 8 && fewest < 3 {
			t.Fatalf("seed %d: q=%d n=%d: New: a node is followed by only %d others", seed, q, n, fewest)
		}
		if len(nodes) < 3 || len(nodes) == q {
			continue
		}
		j, err := r.Join(spare[0])
		if err != nil {
			t.Fatal(err)
		}
		if frac, _ := spread(j); frac < tight {
			t.Fatalf("seed %d: q=%d n=%d: Join: %.3f of windows distinct", seed, q, len(nodes), frac)
		}
		l, err := r.Leave(nodes[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if frac, _ := spread(l); len(nodes) > 5 && frac < loose {
			t.Fatalf("seed %d: q=%d n=%d: Leave: %.3f of windows distinct", seed, q, len(nodes), frac)
		}
	}
}

func BenchmarkChange(b *testing.B) {
	for _, tc := range []struct{ q, n int }{{DefaultPartitions, 64}, {DefaultPartitions, 400}, {MaxPartitions, 2}, {MaxPartitions, MaxNodes - 1}} {
		nodes := seqNodes(tc.n + 1)
		r := mustNew(b, tc.q, nodes[:tc.n])
		b.Run(fmt.Sprintf("New/q=%d/n=%d", tc.q, tc.n), func(b *testing.B) {
			for b.Loop() {
				if _, err := New(tc.q, nodes[:tc.n]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Join/q=%d/n=%d", tc.q, tc.n), func(b *testing.B) {
			for b.Loop() {
				if _, err := r.Join(nodes[tc.n]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Leave/q=%d/n=%d", tc.q, tc.n), func(b *testing.B) {
			for b.Loop() {
				if _, err := r.Leave(nodes[0].ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
