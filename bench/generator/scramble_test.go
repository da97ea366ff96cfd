package generator

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPermutationIsBijection(t *testing.T) {
	for _, n := range []int64{1, 2, 3, 5, 16, 17, 1000, 4097, 65_536} {
		p := NewPermutation(n, ScrambleSeed)
		seen := make([]bool, n)
		moved := 0
		for x := range n {
			y := p.Map(x)
			if y < 0 || y >= n || seen[y] {
				t.Fatalf("n=%d: Map(%d)=%d is out of range or repeated", n, x, y)
			}
			seen[y] = true
			if y != x {
				moved++
			}
		}
		if n >= 16 && moved < int(n)/2 {
			t.Errorf("n=%d: only %d of %d items move", n, moved, n)
		}
	}
}

func TestPermutationDependsOnSeed(t *testing.T) {
	a, b := NewPermutation(1000, 1), NewPermutation(1000, 2)
	same := 0
	for x := range int64(1000) {
		if a.Map(x) == b.Map(x) {
			same++
		}
	}
	if same > 20 {
		t.Errorf("%d of 1000 items map alike under two seeds", same)
	}
}

// TestScrambledKeepsFrequencies: scrambling moves the popular items but keeps
// their popularity, so the item holding rank 0 is drawn as often as rank 0.
func TestScrambledKeepsFrequencies(t *testing.T) {
	z, _ := NewZipfian(DefaultZipfianConstant)
	const n, samples = 10_000, 300_000
	s := NewScrambled(z, n)
	counts := draws(s, n, samples, 9)
	for rank := range int64(5) {
		item := s.perm.Map(rank)
		p := z.Probability(rank, n)
		se := math.Sqrt(p * (1 - p) / samples)
		got := float64(counts[item]) / samples
		if math.Abs(got-p) > zipfTolerance*se {
			t.Errorf("rank %d (item %d): frequency %.4f, theory %.4f", rank, item, got, p)
		}
	}
}

// TestScrambledSpreadsHotItems: unscrambled, the 100 hottest items are the
// first 100 of the item space; scrambled, they fall into every tenth of it.
func TestScrambledSpreadsHotItems(t *testing.T) {
	const n, hot = 100_000, 100
	p := NewPermutation(n, ScrambleSeed)
	var tenths [10]int
	for rank := range int64(hot) {
		tenths[p.Map(rank)*10/n]++
	}
	for i, c := range tenths {
		// Binomial(100, 0.1): mean 10, sd 3; 1..22 is beyond 3 sd either side.
		if c < 1 || c > 22 {
			t.Errorf("tenth %d of the item space holds %d of the %d hottest items: %v", i, c, hot, tenths)
		}
	}
}

func TestScrambledRespectsLimit(t *testing.T) {
	z, _ := NewZipfian(DefaultZipfianConstant)
	s := NewScrambled(z, 2000)
	r := rand.New(rand.NewPCG(5, 5))
	for range 10_000 {
		if v := s.Next(r, 1000); v < 0 || v >= 1000 {
			t.Fatalf("item %d beyond limit 1000", v)
		}
	}
}
