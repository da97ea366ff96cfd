package hint

import (
	"math"
	"time"
)

// TokenBucket throttles delivery to a byte rate. It holds up to one second's
// worth of tokens (the burst), starts full, and refills continuously. A
// reservation larger than what is available, even larger than the burst,
// is granted at once and puts the bucket in debt; Reserve answers how long
// the caller must wait before sending, so the long-run rate holds whatever
// the object sizes.
//
// TokenBucket reads no clock: every call takes now. A TokenBucket is not safe
// for concurrent use; the zero value is not usable (use NewTokenBucket).
type TokenBucket struct {
	rate   float64 // bytes per second, > 0
	burst  float64
	tokens float64 // may be negative: debt
	last   time.Time
}

// NewTokenBucket returns a full bucket refilling at rate bytes per second
// from now. It panics unless rate > 0: a configuration bug.
func NewTokenBucket(rate int64, now time.Time) *TokenBucket {
	if rate <= 0 {
		panic("hint: token bucket rate must be positive")
	}
	r := float64(rate)
	return &TokenBucket{rate: r, burst: r, tokens: r, last: now}
}

// Reserve takes n bytes' worth of tokens at time now and returns how long
// the caller must wait before sending them: 0 when the bucket held enough,
// otherwise the time the refill needs to pay the debt. A now earlier than a
// previous call's (a clock stepping back) refills nothing. n <= 0 reserves
// nothing.
func (b *TokenBucket) Reserve(now time.Time, n int) time.Duration {
	if now.After(b.last) {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	if n <= 0 {
		return 0
	}
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-b.tokens / b.rate * float64(time.Second)))
}
