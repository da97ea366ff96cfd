package merkle

import (
	"errors"
	"testing"
)

func TestLeavesFor(t *testing.T) {
	for _, c := range []struct{ keys, want int }{
		{-5, MinLeaves}, {0, MinLeaves}, {1024, MinLeaves}, {1027, MinLeaves}, {1028, 512}, {2048, 512}, {2052, 1024},
		{1_000_000, 1 << 18}, {1 << 20, 1 << 18}, {1 << 40, MaxLeaves},
	} {
		if got := LeavesFor(c.keys); got != c.want {
			t.Errorf("LeavesFor(%d) = %d, want %d", c.keys, got, c.want)
		}
	}
}

func TestNewSizes(t *testing.T) {
	for _, c := range []struct {
		leaves int
		ok     bool
	}{
		{MinLeaves, true}, {1024, true}, {MaxLeaves, true},
		{0, false}, {-256, false}, {128, false}, {300, false}, {MaxLeaves * 2, false}, {MaxLeaves - 1, false},
	} {
		tr, err := New(c.leaves)
		if c.ok != (err == nil) {
			t.Errorf("New(%d): err = %v, want ok=%v", c.leaves, err, c.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("New(%d): %v does not wrap ErrInvalid", c.leaves, err)
			}
			continue
		}
		if tr.Size() != c.leaves || len(tr.Branches()) != c.leaves/BranchWidth || tr.Root() != 0 {
			t.Errorf("New(%d): size %d, %d branches, root %#x", c.leaves, tr.Size(), len(tr.Branches()), tr.Root())
		}
	}
}

// TestApplyLevels checks that one Apply reaches the key's leaf, its branch
// and the root, nothing else, and that applying it again undoes it.
func TestApplyLevels(t *testing.T) {
	tr := mustNew(t, 1024)
	key := []byte("k")
	leaf := tr.LeafOf(key)
	tr.Apply(key, 0xdead_beef_0000_1234)
	for i := range tr.Size() {
		want := uint32(0)
		if i == leaf {
			want = 0x1234
		}
		if tr.Leaf(i) != want {
			t.Fatalf("leaf %d = %#x, want %#x", i, tr.Leaf(i), want)
		}
	}
	for i := range tr.Size() / BranchWidth {
		want := uint32(0)
		if i == leaf/BranchWidth {
			want = 0x1234
		}
		if tr.Branch(i) != want {
			t.Fatalf("branch %d = %#x, want %#x", i, tr.Branch(i), want)
		}
	}
	if tr.Root() != 0x1234 {
		t.Fatalf("root %#x", tr.Root())
	}
	tr.Apply(key, 0xdead_beef_0000_1234)
	if !tr.Equal(mustNew(t, 1024)) {
		t.Fatal("applying a delta twice does not undo it")
	}
}

func TestCloneIndependent(t *testing.T) {
	tr := mustNew(t, MinLeaves)
	tr.Apply([]byte("a"), 1)
	c := tr.Clone()
	if !c.Equal(tr) {
		t.Fatal("clone differs")
	}
	c.Apply([]byte("b"), 2)
	if c.Equal(tr) || tr.Root() != 1 {
		t.Fatal("applying to the clone changed the original, or Equal missed it")
	}
	if got := tr.BranchLeaves(0); len(got) != BranchWidth {
		t.Fatalf("BranchLeaves: %d leaves", len(got))
	}
}

func TestLeafOfFolds(t *testing.T) {
	for i := range 2000 {
		k := keyOf(i)
		big := LeafOf(k, MaxLeaves)
		for to := MaxLeaves / 2; to >= MinLeaves; to /= 2 {
			if got := LeafOf(k, to); got != big%to {
				t.Fatalf("LeafOf(%q, %d) = %d, want %d", k, to, got, big%to)
			}
		}
	}
}

// TestLeafOfSpreads checks that keys spread over leaves: 64k keys over 256
// leaves average 256 per leaf; none may be below half or above twice that.
func TestLeafOfSpreads(t *testing.T) {
	counts := make([]int, MinLeaves)
	for i := range 1 << 16 {
		counts[LeafOf(keyOf(i), MinLeaves)]++
	}
	for i, n := range counts {
		if n < 128 || n > 512 {
			t.Fatalf("leaf %d holds %d of 65536 keys", i, n)
		}
	}
}

func TestFoldErrors(t *testing.T) {
	tr := mustNew(t, 1024)
	for _, to := range []int{2048, 128, 300, 0} {
		if _, err := tr.Fold(to); !errors.Is(err, ErrInvalid) {
			t.Errorf("Fold(%d) = %v, want ErrInvalid", to, err)
		}
	}
	same, err := tr.Fold(1024)
	if err != nil || !same.Equal(tr) {
		t.Fatalf("Fold to own size: %v", err)
	}
}
