package generator

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// ErrWeights reports weights that cannot define a distribution.
var ErrWeights = errors.New("generator: weights must be non-negative with a positive sum")

// Discrete chooses among values with probability proportional to their
// weights (YCSB's DiscreteGenerator, which chooses the operation). Immutable
// and safe for concurrent use.
type Discrete[T any] struct {
	values []T
	cum    []float64 // cumulative weights, normalised to end at 1
}

// NewDiscrete returns a chooser over values; values with weight 0 are never
// chosen. It copies its arguments.
func NewDiscrete[T any](values []T, weights []float64) (*Discrete[T], error) {
	if len(values) != len(weights) {
		panic("generator: values and weights differ in length")
	}
	d := &Discrete[T]{}
	sum := 0.0
	for i, w := range weights {
		if !(w >= 0) {
			return nil, fmt.Errorf("%w: weight %v", ErrWeights, w)
		}
		if w == 0 {
			continue
		}
		sum += w
		d.values = append(d.values, values[i])
		d.cum = append(d.cum, sum)
	}
	if sum <= 0 {
		return nil, ErrWeights
	}
	for i := range d.cum {
		d.cum[i] /= sum
	}
	d.cum[len(d.cum)-1] = 1
	return d, nil
}

// Next returns a value.
func (d *Discrete[T]) Next(r *rand.Rand) T {
	u := r.Float64()
	for i, c := range d.cum {
		if u < c {
			return d.values[i]
		}
	}
	return d.values[len(d.values)-1]
}
