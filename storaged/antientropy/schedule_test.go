package antientropy

import (
	"slices"
	"testing"
	"time"
)

// TestOrder: each member's order is a rotation of the partitions that
// starts index/members of the way along: the members of a 3-node cluster
// start a third apart. An index out of range starts at the beginning, and
// the argument is left as it was.
func TestOrder(t *testing.T) {
	parts := make([]int, 4096)
	for i := range parts {
		parts[i] = i
	}
	for index, start := range []int{0, 1365, 2730} {
		o := Order(parts, index, 3)
		if len(o) != len(parts) || !slices.Equal(slices.Sorted(slices.Values(o)), parts) {
			t.Fatalf("member %d: not a permutation of the partitions", index)
		}
		for i := range o {
			if o[i] != (start+i)%len(parts) {
				t.Fatalf("member %d: at %d partition %d, want %d", index, i, o[i], (start+i)%len(parts))
			}
		}
	}
	for _, index := range []int{-1, 3, 7} {
		if o := Order(parts, index, 3); o[0] != 0 {
			t.Errorf("index %d of 3: starts at %d, want 0", index, o[0])
		}
	}
	if len(Order(nil, 1, 3)) != 0 || !slices.Equal(Order([]int{7}, 2, 3), []int{7}) {
		t.Fatal("empty or single-partition order wrong")
	}
	if !slices.Equal(parts[:5], []int{0, 1, 2, 3, 4}) {
		t.Fatal("Order changed its argument")
	}
}

// TestPaceAt: the i-th of n partitions begins i/n of the way through.
func TestPaceAt(t *testing.T) {
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		i, n int
		want time.Duration
	}{{0, 4096, 0}, {1, 4096, 7324218}, {2048, 4096, 15 * time.Second}, {4095, 4096, 29992675781},
		{3, 0, 0}, {-1, 5, 0}, {5, 5, 30 * time.Second}, {1 << 62, 1, 30 * time.Second}} {
		if got := PaceAt(start, 30*time.Second, c.i, c.n).Sub(start); got != c.want {
			t.Errorf("PaceAt(%d of %d) = start+%v, want start+%v", c.i, c.n, got, c.want)
		}
	}
}
