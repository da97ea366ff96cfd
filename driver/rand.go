package driver

import (
	"math/rand/v2"
	"sync"
)

// lockedRand serialises a rand.Source for the client's goroutines; with no
// source it uses math/rand/v2's global generator, which is safe already.
type lockedRand struct {
	mu  sync.Mutex
	rnd *rand.Rand // nil: the global generator
}

func newLockedRand(src rand.Source) *lockedRand {
	if src == nil {
		return &lockedRand{}
	}
	return &lockedRand{rnd: rand.New(src)}
}

// Int64N returns a uniform value in [0, n); n must be positive.
func (r *lockedRand) Int64N(n int64) int64 {
	if r.rnd == nil {
		return rand.Int64N(n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rnd.Int64N(n)
}
