package hint

import (
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		at   time.Duration
		n    int
		want time.Duration
	}
	for _, tc := range []struct {
		name  string
		rate  int64
		steps []step
	}{
		{"burst of one second is free", 1000, []step{{0, 1000, 0}}},
		{"over the burst waits for the debt", 1000, []step{{0, 1000, 0}, {0, 500, 500 * time.Millisecond}}},
		{"debt accumulates", 1000, []step{{0, 1000, 0}, {0, 500, 500 * time.Millisecond}, {0, 500, time.Second}}},
		{"waiting pays the debt", 1000, []step{{0, 1500, 500 * time.Millisecond}, {500 * time.Millisecond, 0, 0}, {500 * time.Millisecond, 1, time.Millisecond}}},
		{"one object larger than the burst", 1000, []step{{0, 4000, 3 * time.Second}}},
		{"refill is capped at the burst", 1000, []step{{0, 1000, 0}, {time.Hour, 1000, 0}, {time.Hour, 1, time.Millisecond}}},
		{"partial refill", 1000, []step{{0, 1000, 0}, {250 * time.Millisecond, 250, 0}, {250 * time.Millisecond, 250, 250 * time.Millisecond}}},
		{"clock stepping back refills nothing", 1000, []step{{time.Second, 1000, 0}, {0, 100, 100 * time.Millisecond}, {time.Second, 100, 200 * time.Millisecond}}},
		{"zero bytes are free", 1000, []step{{0, 1000, 0}, {0, 0, 0}, {0, -5, 0}}},
		{"8 MiB/s sending 1 MiB objects", 8 << 20, []step{
			{0, 8 << 20, 0}, {0, 1 << 20, 125 * time.Millisecond}, {125 * time.Millisecond, 1 << 20, 125 * time.Millisecond},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewTokenBucket(tc.rate, t0)
			for i, s := range tc.steps {
				if got := b.Reserve(at(s.at), s.n); got != s.want {
					t.Fatalf("step %d: Reserve(t0+%v, %d) = %v, want %v", i, s.at, s.n, got, s.want)
				}
			}
		})
	}
}

// TestTokenBucketLongRunRate: a sender that always sleeps as told moves
// rate bytes per second plus at most one burst, whatever the object sizes.
func TestTokenBucketLongRunRate(t *testing.T) {
	const rate = 1 << 20
	now := time.Unix(0, 0)
	b := NewTokenBucket(rate, now)
	sent := 0
	sizes := []int{1, 4 << 10, 3 << 20, 100, 700 << 10, 64 << 10}
	for i := 0; now.Before(time.Unix(60, 0)); i++ {
		n := sizes[i%len(sizes)]
		now = now.Add(b.Reserve(now, n))
		sent += n
	}
	elapsed := now.Sub(time.Unix(0, 0)).Seconds()
	if max := rate*elapsed + rate + float64(3<<20); float64(sent) > max {
		t.Errorf("sent %d bytes in %.1fs, more than rate plus burst allows (%.0f)", sent, elapsed, max)
	}
	if min := rate * elapsed; float64(sent) < min {
		t.Errorf("sent %d bytes in %.1fs, less than the rate (%.0f)", sent, elapsed, min)
	}
}

func TestNewTokenBucketPanicsOnBadRate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewTokenBucket(0) did not panic")
		}
	}()
	NewTokenBucket(0, time.Now())
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	for f, w := range want {
		if got := Backoff(f); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", f, got, w)
		}
	}
	if got := Backoff(1 << 30); got != MaxBackoff {
		t.Errorf("Backoff(huge) = %v, want %v", got, MaxBackoff)
	}
	if got := Backoff(-1); got != 0 {
		t.Errorf("Backoff(-1) = %v, want 0", got)
	}
}
