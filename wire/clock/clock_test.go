package clock

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestRealTimersRunInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Or(nil)
		start := c.Now()
		tm := c.NewTimer(3 * time.Second)
		<-tm.C()
		if got := c.Now().Sub(start); got != 3*time.Second {
			t.Fatalf("timer fired after %v, want 3s", got)
		}
		if tm.Reset(time.Second) {
			t.Fatal("Reset of a fired timer reports it was active")
		}
		if !tm.Stop() {
			t.Fatal("Stop of a reset timer reports it was not active")
		}
		tk := c.NewTicker(time.Second)
		defer tk.Stop()
		for range 2 {
			<-tk.C()
		}
		if got := c.Now().Sub(start); got != 5*time.Second {
			t.Fatalf("two ticks after %v since start, want 5s", got)
		}
	})
}

func TestSkewedJumpMovesNowNotTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s Skewed
		before := s.Now()
		if !before.Equal(time.Now()) {
			t.Fatalf("zero Skewed reads %v, machine %v", before, time.Now())
		}
		s.Jump(-time.Hour)
		if got := time.Now().Sub(s.Now()); got != time.Hour {
			t.Fatalf("after a -1h jump the clock is %v behind, want 1h", got)
		}
		if s.Offset() != -time.Hour {
			t.Fatalf("offset %v, want -1h", s.Offset())
		}
		start := time.Now()
		<-s.NewTimer(2 * time.Second).C()
		if got := time.Since(start); got != 2*time.Second {
			t.Fatalf("timer of a stepped clock fired after %v, want 2s", got)
		}
	})
}
