package generator

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFNVHash64 pins the hash: YCSB names record 0 "user6284781860667377211",
// the absolute value of FNVHash64(0) read as a signed integer.
func TestFNVHash64(t *testing.T) {
	h := FNVHash64(0)
	if h != 12161962213042174405 || -int64(h) != 6284781860667377211 {
		t.Errorf("FNVHash64(0) = %d", h)
	}
}

// TestYCSBScrambledHottestKey: YCSB's scrambled zipfian gives its hottest
// item about 1/zeta(10^10, 0.99) = 3.78% of the draws at 10,000 items, where
// Scrambled gives 1/zeta(10^4, 0.99) = 9.78%; rank 0 lands on item
// 6284781860667377211 mod 10,000 = 7211.
func TestYCSBScrambledHottestKey(t *testing.T) {
	z, _ := NewZipfian(DefaultZipfianConstant)
	const n, samples = 10_000, 300_000
	s := NewYCSBScrambled(z, n)
	counts := draws(s, n, samples, 7)
	var hottest int64
	for v, c := range counts {
		if v < 0 || v >= n {
			t.Fatalf("item %d out of [0, %d)", v, n)
		}
		if c > counts[hottest] || (c == counts[hottest] && v < hottest) {
			hottest = v
		}
	}
	// Rank 0's share plus the ~1/n that the other ranks hashed there add.
	p := 1/26.46902820178302 + 1.0/n
	se := math.Sqrt(p * (1 - p) / samples)
	got := float64(counts[hottest]) / samples
	if hottest != 7211 || math.Abs(got-p) > zipfTolerance*se {
		t.Errorf("hottest item %d drawn %.4f of the time; want item 7211 at %.4f", hottest, got, p)
	}
	if def := z.Probability(0, n); def < 0.097 || def > 0.098 {
		t.Errorf("Scrambled's hottest item has probability %.4f, want 9.78%%", def)
	}
	// Items at or beyond limit are never chosen.
	r := rand.New(rand.NewPCG(7, 8))
	for range 100 {
		if v := s.Next(r, 10); v >= 10 {
			t.Fatalf("item %d beyond limit 10", v)
		}
	}
}

// draws counts the items c chooses among limit in samples draws from a
// generator seeded with seed.
func draws(c Chooser, limit int64, samples int, seed uint64) map[int64]int {
	r := rand.New(rand.NewPCG(seed, seed))
	counts := map[int64]int{}
	for range samples {
		counts[c.Next(r, limit)]++
	}
	return counts
}
