package merkle

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

// divergent returns the states of two replicas of n keys that differ in
// exactly k of them (some missing on one side, some with a different write),
// and the sorted leaves of the differing keys in a tree of leaves leaves.
func divergent(r *rand.Rand, n, k, leaves int) (a, b []dvv.Set, want []int) {
	a = make([]dvv.Set, n)
	for i := range a {
		a[i], _ = dvv.Set{}.Update(actorA, nil, keyOf(i), false)
	}
	b = slices.Clone(a)
	for _, i := range r.Perm(n)[:k] {
		if r.IntN(3) == 0 {
			b[i] = dvv.Set{} // b missed the key
		} else {
			b[i], _ = b[i].Update(actorB, b[i].VV, []byte("newer"), false)
		}
		want = append(want, LeafOf(keyOf(i), leaves))
	}
	slices.Sort(want)
	return a, b, slices.Compact(want)
}

// descend finds the differing leaves of a and b the way an exchange does:
// branches, then leaves within the differing branches.
func descend(t *testing.T, a, b *Tree) []int {
	t.Helper()
	leaves, err := DiffLeaves(a, b, DiffBranches(a, b))
	if err != nil {
		t.Fatal(err)
	}
	return leaves
}

func TestDiffFindsExactlyTheDifferingLeaves(t *testing.T) {
	for seed := range uint64(10) {
		r := rand.New(rand.NewPCG(seed, 3))
		for _, k := range []int{0, 1, 7, 100} {
			a, b, want := divergent(r, 3000, k, 1024)
			ta, tb := build(t, 1024, a), build(t, 1024, b)
			if got := descend(t, ta, tb); !slices.Equal(got, want) {
				t.Fatalf("seed %d k %d: tree diff %v, want %v", seed, k, got, want)
			}
			// The same through the parts an exchange sends, b asking a.
			branches, err := tb.DiffPart(ta.Top())
			if err != nil {
				t.Fatal(err)
			}
			lp, err := ta.LeafPart(branches)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tb.DiffPart(lp)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("seed %d k %d: part diff %v (%v), want %v", seed, k, got, err, want)
			}
			if (k == 0) != ta.Equal(tb) || (k == 0) != (ta.Root() == tb.Root()) {
				t.Fatalf("seed %d k %d: Equal %v, roots %#x %#x", seed, k, ta.Equal(tb), ta.Root(), tb.Root())
			}
		}
	}
}

// TestDiffAcrossSizes compares a 4096-leaf tree with a 1024-leaf one: the
// larger folds, and the differing leaves are those of the smaller size.
func TestDiffAcrossSizes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	a, b, want := divergent(r, 5000, 40, 1024)
	big, small := build(t, 4096, a), build(t, 1024, b)
	branches := DiffBranches(big, small)
	if slices.Equal(branches, DiffBranches(small, big)) == false {
		t.Fatal("DiffBranches is not symmetric")
	}
	if _, err := DiffLeaves(big, small, branches); !errors.Is(err, ErrMismatch) {
		t.Fatalf("DiffLeaves of different sizes: %v, want ErrMismatch", err)
	}
	folded, err := big.Fold(1024)
	if err != nil {
		t.Fatal(err)
	}
	if got := descend(t, folded, small); !slices.Equal(got, want) {
		t.Fatalf("folded diff %v, want %v", got, want)
	}
	// Parts: the big side's complete top folds on arrival; the small side's
	// parts compare against the big tree folded on the fly.
	fromBig, err := small.DiffPart(big.Top())
	if err != nil || !slices.Equal(fromBig, branches) {
		t.Fatalf("small.DiffPart(big.Top()) = %v, %v; want %v", fromBig, err, branches)
	}
	fromSmall, err := big.DiffPart(small.Top())
	if err != nil || !slices.Equal(fromSmall, branches) {
		t.Fatalf("big.DiffPart(small.Top()) = %v, %v; want %v", fromSmall, err, branches)
	}
	lp, err := small.LeafPart(branches)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := big.DiffPart(lp); err != nil || !slices.Equal(got, want) {
		t.Fatalf("big.DiffPart(small leaves) = %v, %v; want %v", got, err, want)
	}
	partial, err := big.BranchPart(branches[:1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.DiffPart(partial); !errors.Is(err, ErrMismatch) {
		t.Fatalf("partial part of a larger tree: %v, want ErrMismatch", err)
	}
}

func TestDiffPartOnlyComparesWhatItCarries(t *testing.T) {
	a, b := mustNew(t, MinLeaves), mustNew(t, MinLeaves)
	b.Apply([]byte("x"), 1)
	br := b.LeafOf([]byte("x")) / BranchWidth
	others := []int{}
	for i := range MinLeaves / BranchWidth {
		if i != br {
			others = append(others, i)
		}
	}
	p, err := a.BranchPart(others)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := b.DiffPart(p); len(got) != 0 {
		t.Fatalf("diff over the other branches = %v, want none", got)
	}
	lv, err := a.LeavesPart([]int{b.LeafOf([]byte("x"))})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := b.DiffPart(lv); !slices.Equal(got, []int{b.LeafOf([]byte("x"))}) {
		t.Fatalf("diff over the key's leaf = %v", got)
	}
}

func TestDiffBadInput(t *testing.T) {
	tr := mustNew(t, MinLeaves)
	if _, err := DiffLeaves(tr, tr, []int{4}); !errors.Is(err, ErrInvalid) {
		t.Errorf("branch out of range: %v", err)
	}
	if _, err := DiffLeaves(tr, tr, []int{1, 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate branch: %v", err)
	}
	for _, p := range []Part{
		{Leaves: 100, Level: LevelBranch},
		{Leaves: MinLeaves, Level: 9},
		{Leaves: MinLeaves, Level: LevelLeaf, IDs: []int{1}},
		{Leaves: MinLeaves, Level: LevelLeaf, IDs: []int{2, 1}, Hashes: []uint32{0, 0}},
		{Leaves: MinLeaves, Level: LevelBranch, IDs: []int{4}, Hashes: []uint32{0}},
		{Leaves: MinLeaves, Level: LevelLeaf, IDs: []int{-1}, Hashes: []uint32{0}},
	} {
		if _, err := tr.DiffPart(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("DiffPart(%+v) = %v, want ErrInvalid", p, err)
		}
	}
	for _, ids := range [][]int{{-1}, {4}, {2, 2}} {
		if _, err := tr.BranchPart(ids); !errors.Is(err, ErrInvalid) {
			t.Errorf("BranchPart(%v): %v", ids, err)
		}
		if _, err := tr.LeafPart(ids); !errors.Is(err, ErrInvalid) {
			t.Errorf("LeafPart(%v): %v", ids, err)
		}
	}
	if _, err := tr.LeavesPart([]int{MinLeaves}); !errors.Is(err, ErrInvalid) {
		t.Errorf("LeavesPart out of range: %v", err)
	}
}
