// Package generator holds the random choices of a YCSB-style workload: which
// item an operation touches (uniform, zipfian, scrambled zipfian, latest),
// which operation it is, and the counter that hands out keys to insert.
//
// Generators are immutable after construction or internally synchronised,
// so one generator serves every worker; each worker passes its own seeded
// *rand.Rand (randomness is an input, DESIGN.md §5.2).
package generator

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// DefaultZipfianConstant is YCSB's zipfian constant (theta): the most
// popular item is drawn about as often as the next two together.
const DefaultZipfianConstant = 0.99

// ErrTheta reports a zipfian constant outside (0, 100].
var ErrTheta = errors.New("generator: zipfian constant must be in (0, 100]")

// Zipfian draws ranks in [0, n) with P(rank k) = (k+1)^-theta / zeta(n,
// theta), exactly, for any theta > 0 (math/rand's Zipf needs s > 1, and
// YCSB's generator, after Gray et al., is exact for the two most popular
// items only).
//
// It samples by rejection-inversion (Hörmann and Derflinger, "Rejection-
// inversion to generate variates from monotone discrete distributions",
// 1996): a uniform point under the continuous hat x^-theta, inverted through
// the hat's integral, lands in the cell [k-1/2, k+1/2] of some rank k and is
// kept when it falls in that cell's last h(k) of area, so every rank is kept
// in proportion to k^-theta. Set-up is O(1) and n may change from call to
// call (the "latest" distribution grows with inserts); the expected number
// of tries per draw is below 1.1 for theta near 1.
//
// A Zipfian is immutable and safe for concurrent use.
type Zipfian struct {
	theta float64
	// hX1 is H(3/2) - h(1): where the accepted area of rank 1 starts.
	hX1 float64
}

// NewZipfian returns a generator with constant theta.
func NewZipfian(theta float64) (*Zipfian, error) {
	if !(theta > 0 && theta <= 100) {
		return nil, fmt.Errorf("%w: got %v", ErrTheta, theta)
	}
	z := &Zipfian{theta: theta}
	z.hX1 = z.hIntegral(1.5) - 1
	return z, nil
}

// Theta returns the constant.
func (z *Zipfian) Theta() float64 { return z.theta }

// Next returns a rank in [0, n); rank 0 is the most popular. n must be >= 1.
func (z *Zipfian) Next(r *rand.Rand, n int64) int64 {
	if n <= 1 {
		if n < 1 {
			panic("generator: zipfian over an empty range")
		}
		return 0
	}
	hN := z.hIntegral(float64(n) + 0.5)
	for {
		// u is uniform on (hX1, hN]: the area under the hat from the start
		// of rank 1's accepted part to the end of rank n's cell.
		u := hN + r.Float64()*(z.hX1-hN)
		x := z.hIntegralInverse(u)
		k := int64(x + 0.5)
		if k < 1 {
			k = 1 // x below 1/2: the part of rank 1's area left of its cell
		} else if k > n {
			k = n // rounding at the top end
		}
		if u >= z.hIntegral(float64(k)+0.5)-z.h(float64(k)) {
			return k - 1
		}
	}
}

// Probability returns P(rank k) for a generator over n ranks, by summing
// zeta(n, theta): O(n), for tests and reports, not for sampling.
func (z *Zipfian) Probability(k, n int64) float64 {
	return math.Pow(float64(k+1), -z.theta) / Zeta(n, z.theta)
}

// Zeta returns sum_{i=1..n} i^-theta, summed smallest term first.
func Zeta(n int64, theta float64) float64 {
	sum := 0.0
	for i := n; i >= 1; i-- {
		sum += math.Pow(float64(i), -theta)
	}
	return sum
}

// h is the hat function x^-theta.
func (z *Zipfian) h(x float64) float64 { return math.Exp(-z.theta * math.Log(x)) }

// hIntegral is H(x) = integral of h from 1 to x = (x^(1-theta) - 1)/(1 -
// theta), written so that it stays accurate as theta approaches 1 (where it
// becomes log x).
func (z *Zipfian) hIntegral(x float64) float64 {
	lx := math.Log(x)
	return expm1OverX((1-z.theta)*lx) * lx
}

// hIntegralInverse is the inverse of hIntegral.
func (z *Zipfian) hIntegralInverse(y float64) float64 {
	t := y * (1 - z.theta)
	if t < -1 {
		t = -1 // only reachable through rounding when theta > 1
	}
	return math.Exp(log1pOverX(t) * y)
}

// expm1OverX is (e^x - 1)/x, continuous at 0.
func expm1OverX(x float64) float64 {
	if math.Abs(x) < 1e-8 {
		return 1 + x/2
	}
	return math.Expm1(x) / x
}

// log1pOverX is log(1+x)/x, continuous at 0.
func log1pOverX(x float64) float64 {
	if math.Abs(x) < 1e-8 {
		return 1 - x/2
	}
	return math.Log1p(x) / x
}
