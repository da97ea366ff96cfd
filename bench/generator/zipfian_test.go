package generator

import (
	"math"
	"math/rand/v2"
	"testing"
)

// zipfTolerance is how far, in binomial standard errors, an observed
// frequency may sit from theory. With a fixed seed the test is repeatable;
// 5 standard errors keeps a correct generator from failing on any seed,
// while a generator off by a few percent on a top rank fails at these sample
// sizes (YCSB's Gray et al. approximation draws rank 2 of 1000 about 17% too
// often, rank 5 about 5%).
const zipfTolerance = 5.0

// checkTopRanks draws samples from z over n ranks and compares the top ranks'
// frequencies with theory (thetaTheory may differ from z's to show the check
// can fail). It returns the largest deviation in standard errors.
func checkTopRanks(z *Zipfian, n int64, samples, top int, thetaTheory float64, seed uint64) float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	counts := make([]int, top)
	for range samples {
		k := z.Next(r, n)
		if k < 0 || k >= n {
			panic("rank out of range")
		}
		if k < int64(top) {
			counts[k]++
		}
	}
	zeta := Zeta(n, thetaTheory)
	worst := 0.0
	for k := range top {
		p := math.Pow(float64(k+1), -thetaTheory) / zeta
		se := math.Sqrt(p * (1 - p) / float64(samples))
		dev := math.Abs(float64(counts[k])/float64(samples)-p) / se
		worst = max(worst, dev)
	}
	return worst
}

func TestZipfianTopRanksMatchTheory(t *testing.T) {
	for _, tc := range []struct {
		theta   float64
		n       int64
		samples int
	}{
		{0.99, 1000, 400_000},
		{0.99, 1_000_000, 300_000},
		{0.5, 1000, 200_000},
		{1.0, 5000, 200_000},
		{1.5, 100, 200_000},
	} {
		z, err := NewZipfian(tc.theta)
		if err != nil {
			t.Fatal(err)
		}
		if dev := checkTopRanks(z, tc.n, tc.samples, 10, tc.theta, 42); dev > zipfTolerance {
			t.Errorf("theta=%v n=%d: a top-10 frequency is %.1f standard errors from theory (tolerance %v)",
				tc.theta, tc.n, dev, zipfTolerance)
		}
	}
}

// TestZipfianCheckCanFail shows the tolerance is tight enough to reject a
// nearby distribution: samples at theta 0.99 judged against theta 0.95.
func TestZipfianCheckCanFail(t *testing.T) {
	z, _ := NewZipfian(0.99)
	if dev := checkTopRanks(z, 1000, 400_000, 10, 0.95, 42); dev <= zipfTolerance {
		t.Errorf("theta 0.99 samples pass as theta 0.95 (%.1f standard errors): the check cannot fail", dev)
	}
}

// TestZipfianWholeRange compares every rank of a small range with theory
// (chi-square, 99 degrees of freedom: the 99.99th percentile is about 157).
func TestZipfianWholeRange(t *testing.T) {
	z, _ := NewZipfian(DefaultZipfianConstant)
	const n, samples = 100, 200_000
	r := rand.New(rand.NewPCG(7, 7))
	var counts [n]int
	for range samples {
		counts[z.Next(r, n)]++
	}
	chi2 := 0.0
	for k := range int64(n) {
		want := z.Probability(k, n) * samples
		d := float64(counts[k]) - want
		chi2 += d * d / want
	}
	if chi2 > 157 {
		t.Errorf("chi-square %.1f over %d ranks: the distribution is not zipfian(0.99)", chi2, n)
	}
}

func TestZipfianEdges(t *testing.T) {
	z, _ := NewZipfian(0.99)
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		if k := z.Next(r, 1); k != 0 {
			t.Fatalf("n=1 gave %d", k)
		}
		if k := z.Next(r, 2); k != 0 && k != 1 {
			t.Fatalf("n=2 gave %d", k)
		}
	}
	for _, theta := range []float64{0, -1, math.NaN(), 101} {
		if _, err := NewZipfian(theta); err == nil {
			t.Errorf("theta %v accepted", theta)
		}
	}
}

func TestLatestFavoursNewest(t *testing.T) {
	z, _ := NewZipfian(DefaultZipfianConstant)
	l := Latest{Z: z}
	r := rand.New(rand.NewPCG(3, 3))
	const limit = 500
	counts := map[int64]int{}
	for range 50_000 {
		k := l.Next(r, limit)
		if k < 0 || k >= limit {
			t.Fatalf("item %d out of [0, %d)", k, limit)
		}
		counts[k]++
	}
	if counts[limit-1] <= counts[limit-2] || counts[limit-2] <= counts[limit-10] || counts[limit-10] <= counts[0] {
		t.Errorf("not decreasing with age: newest %d, 2nd %d, 10th %d, oldest %d",
			counts[limit-1], counts[limit-2], counts[limit-10], counts[0])
	}
}

func BenchmarkZipfianNext(b *testing.B) {
	z, _ := NewZipfian(DefaultZipfianConstant)
	r := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		z.Next(r, 1_000_000)
	}
}
