// Package clock is the time source of the driver's and the storage node's
// shells: the one seam through which they read the time and start timers,
// so that a simulator can give each process a clock of its own.
//
// The zero value of Real is the machine's clock. Under testing/synctest the
// machine's clock is already virtual, so a simulated cluster needs nothing
// more for virtual time; Skewed adds a per-process offset that a fault plan
// can jump, as an operator's or NTP's clock step would.
//
// Timers and tickers measure durations, which a clock step does not change
// (Go's timers run on the monotonic clock); only Now moves.
//
// A step is harsher than a real one in one way: readings of a Skewed clock
// taken either side of a step differ by it, so a duration measured by
// subtracting them includes the step. A real process's time.Now carries a
// monotonic reading that hides steps from Sub. Code under a Skewed clock
// must therefore tolerate negative and inflated elapsed times, which is
// what the simulator checks.
package clock

import (
	"sync/atomic"
	"time"
)

// Clock reads the time and makes timers. Implementations are safe for
// concurrent use.
type Clock interface {
	// Now is the current wall time.
	Now() time.Time
	// NewTimer fires once, d from now.
	NewTimer(d time.Duration) Timer
	// NewTicker fires every d (d > 0).
	NewTicker(d time.Duration) Ticker
}

// Timer is a stoppable, resettable one-shot timer (see time.Timer).
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Ticker is a stoppable periodic timer (see time.Ticker).
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Or returns c, or Real{} when c is nil: the zero value of a Config's Clock
// field means the machine's clock.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// Real is the machine's clock (package time).
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// NewTicker returns a time.Ticker.
func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.t.C }
func (t realTicker) Stop()               { t.t.Stop() }

// Skewed is the machine's clock plus an offset that can be stepped while it
// runs (Jump). Its zero value has no offset. Safe for concurrent use.
type Skewed struct {
	offset atomic.Int64 // nanoseconds
}

// Now returns the machine's time plus the offset (see the package
// documentation for how a step shows in durations).
func (s *Skewed) Now() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }

// Jump steps the clock by d (negative: back in time).
func (s *Skewed) Jump(d time.Duration) { s.offset.Add(int64(d)) }

// Offset is the current offset from the machine's clock.
func (s *Skewed) Offset() time.Duration { return time.Duration(s.offset.Load()) }

// NewTimer returns a machine timer: durations do not see the offset.
func (s *Skewed) NewTimer(d time.Duration) Timer { return Real{}.NewTimer(d) }

// NewTicker returns a machine ticker.
func (s *Skewed) NewTicker(d time.Duration) Ticker { return Real{}.NewTicker(d) }
