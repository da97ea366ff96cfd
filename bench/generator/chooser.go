package generator

import "math/rand/v2"

// Chooser picks the item an operation touches among the limit items that
// exist, [0, limit). limit is at least 1. Choosers are safe for concurrent
// use with a *rand.Rand per goroutine.
type Chooser interface {
	Next(r *rand.Rand, limit int64) int64
}

// Uniform chooses every existing item with equal probability.
type Uniform struct{}

// Next implements Chooser.
func (Uniform) Next(r *rand.Rand, limit int64) int64 { return r.Int64N(limit) }

// Latest is YCSB's "latest" distribution (workload D): zipfian over
// recency, so the most recently inserted item is the most popular.
type Latest struct{ Z *Zipfian }

// Next implements Chooser.
func (l Latest) Next(r *rand.Rand, limit int64) int64 { return limit - 1 - l.Z.Next(r, limit) }

var (
	_ Chooser = Uniform{}
	_ Chooser = (*Zipfian)(nil) // unscrambled: item k has rank k
	_ Chooser = (*Scrambled)(nil)
	_ Chooser = Latest{}
)
