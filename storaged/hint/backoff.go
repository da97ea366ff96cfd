package hint

import "time"

// Delivery retry bounds: after a failed delivery to an owner the fallback
// waits MinBackoff, doubling with each further failure up to MaxBackoff, and
// a success resets it. MaxBackoff is short on purpose: an owner that comes
// back must receive its hints within seconds, and a failed attempt on a dead
// owner costs one call.
const (
	MinBackoff = time.Second
	MaxBackoff = 8 * time.Second
)

// Backoff returns how long to wait before the next delivery attempt to an
// owner after failures consecutive failed ones: 0 for none, then MinBackoff,
// doubling, capped at MaxBackoff.
func Backoff(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := MinBackoff
	for i := 1; i < failures && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}
