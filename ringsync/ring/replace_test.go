package ring

import (
	"errors"
	"slices"
	"testing"
)

func TestReplaceGivesExactlyTheOldPartitions(t *testing.T) {
	for seed := range uint64(30) {
		q, nodes, spare, rng := propertyCase(seed)
		r := mustNew(t, q, nodes)
		old := nodes[rng.IntN(len(nodes))].ID
		got, err := r.Replace(old, spare[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := checkRing(got); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if got.Version() != r.Version()+1 {
			t.Fatalf("version %d after %d", got.Version(), r.Version())
		}
		if _, ok := got.Node(old); ok {
			t.Fatalf("seed %d: %q still a member", seed, old)
		}
		if !slices.Equal(got.OwnedBy(spare[0].ID), r.OwnedBy(old)) {
			t.Fatalf("seed %d: newcomer owns %v, old owned %v", seed, got.OwnedBy(spare[0].ID), r.OwnedBy(old))
		}
		if m := r.Moves(got); m != len(r.OwnedBy(old)) {
			t.Fatalf("seed %d: %d moves, want %d", seed, m, len(r.OwnedBy(old)))
		}
		if n, _ := got.Node(spare[0].ID); n != spare[0] {
			t.Fatalf("newcomer is %v", n)
		}
	}
}

func TestReplaceRejects(t *testing.T) {
	r := mustNew(t, 64, seqNodes(3))
	for _, tc := range []struct {
		name string
		old  NodeID
		n    Node
		want error
	}{
		{"unknown", "zz", Node{"new", "h:1"}, ErrUnknownNode},
		{"member", "n0000", Node{"n0001", "h:1"}, ErrDuplicateNode},
		{"invalid", "n0000", Node{"new", "no-port"}, ErrInvalidNode},
		{"itself", "n0000", Node{"n0000", "h:1"}, ErrDuplicateNode},
	} {
		if _, err := r.Replace(tc.old, tc.n); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestTowardReachesTarget(t *testing.T) {
	for seed := range uint64(30) {
		q, nodes, spare, rng := propertyCase(seed)
		r := mustNew(t, q, nodes)
		target, err := r.Join(spare[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) > 1 {
			if target, err = target.Leave(nodes[0].ID); err != nil {
				t.Fatal(err)
			}
		}
		changed := changed(r, target)
		rng.Shuffle(len(changed), func(i, j int) { changed[i], changed[j] = changed[j], changed[i] })
		cur := r
		for len(changed) > 0 {
			k := 1 + rng.IntN(len(changed))
			next, err := cur.Toward(target, changed[:k])
			if err != nil {
				t.Fatal(err)
			}
			if err := checkRing(next); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if next.Version() != cur.Version()+1 {
				t.Fatalf("version %d after %d", next.Version(), cur.Version())
			}
			for p := range q {
				want := cur.Owner(p)
				if slices.Contains(changed[:k], p) {
					want = target.Owner(p)
				}
				if next.Owner(p) != want {
					t.Fatalf("seed %d: partition %d owned by %q, want %q", seed, p, next.Owner(p), want)
				}
			}
			cur, changed = next, changed[k:]
		}
		if cur.Moves(target) != 0 || !slices.Equal(cur.Nodes(), target.Nodes()) {
			t.Fatalf("seed %d: did not reach the target", seed)
		}
	}
}

func TestTowardKeepsAddresses(t *testing.T) {
	r := mustNew(t, 8, []Node{{"a", "h:1"}, {"b", "h:2"}})
	target := mustNew(t, 8, []Node{{"a", "other:1"}, {"c", "h:3"}})
	same, err := r.Toward(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if same.Moves(r) != 0 || same.Version() != 2 || !slices.Equal(same.Nodes(), r.Nodes()) {
		t.Fatalf("Toward with no partitions changed the ring")
	}
	all, err := r.Toward(target, []int{0, 1, 2, 3, 4, 5, 6, 7})
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{{"a", "h:1"}, {"c", "h:3"}}
	if !slices.Equal(all.Nodes(), want) {
		t.Fatalf("nodes %v, want %v", all.Nodes(), want)
	}
}

func TestTowardRejects(t *testing.T) {
	r := mustNew(t, 8, seqNodes(2))
	if _, err := r.Toward(mustNew(t, 16, seqNodes(2)), nil); !errors.Is(err, ErrMismatch) {
		t.Errorf("different Q: %v", err)
	}
	for _, p := range []int{-1, 8} {
		if _, err := r.Toward(r, []int{p}); !errors.Is(err, ErrPartition) {
			t.Errorf("partition %d: %v", p, err)
		}
	}
}
