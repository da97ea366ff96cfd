package wire

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestLedgerFits(t *testing.T) {
	for _, c := range []struct {
		name            string
		used, held, n   int64
		fits, overShare bool
	}{
		{"empty", 0, 0, 1 << 20, true, false},
		{"within share", 10, 10, 20, true, false},
		{"over share", 90, 90, 20, false, true},
		{"alone over share", 0, 0, 500, true, false},               // one request larger than a share
		{"alone over share, node busy", 900, 0, 500, false, false}, // waits on the node, not itself
		{"node full", 1000, 10, 1, false, false},
		{"alone over total", 0, 0, 5000, true, false},
	} {
		l := ledger{total: 1000, share: 100, used: c.used}
		if got := l.fits(c.held, c.n); got != c.fits {
			t.Errorf("%s: fits = %v, want %v", c.name, got, c.fits)
		}
		if got := l.overShare(c.held, c.n); got != c.overShare {
			t.Errorf("%s: overShare = %v, want %v", c.name, got, c.overShare)
		}
	}
}

func TestLedgerEstimate(t *testing.T) {
	l := ledger{est: minReserve}
	l.observe(8 << 20)
	if l.est != 8<<20 {
		t.Fatalf("after an 8 MiB answer the reserve is %d", l.est)
	}
	for range 64 {
		l.observe(100)
	}
	if l.est >= 8<<20 || l.est < 2<<20 {
		t.Fatalf("after 64 small answers the reserve is %d, want it decayed part way (1/64 per answer)", l.est)
	}
	for range 2000 {
		l.observe(100)
	}
	if l.est != minReserve {
		t.Fatalf("reserve %d, want the floor %d", l.est, minReserve)
	}
}

func TestLedgerPeakAndPanic(t *testing.T) {
	l := ledger{total: 10, share: 10}
	l.add(7)
	l.add(-5)
	if l.used != 2 || l.peak != 7 {
		t.Fatalf("used %d peak %d, want 2 and 7", l.used, l.peak)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("releasing more than charged did not panic")
		}
	}()
	l.add(-3)
}

// acquire waits while over the share, resumes on release, gives up at its
// context's end saying whose limit it waited on, and charge passes limits.
func TestBudgetAcquire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(1000, 100)
		a, c := b.conn(), b.conn()
		ctx := context.Background()
		if _, err := a.acquire(ctx, 80); err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 1)
		go func() { _, err := a.acquire(ctx, 30); got <- err }()
		synctest.Wait()
		select {
		case err := <-got:
			t.Fatalf("acquire over the share returned %v at once", err)
		default:
		}
		if _, err := c.acquire(ctx, 50); err != nil { // another connection is not held up
			t.Fatal(err)
		}
		a.release(60)
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		own, err := a.acquire(tctx, 90)
		if err == nil || !own {
			t.Fatalf("acquire past the share: own %v err %v, want own fault and a deadline", own, err)
		}
		c.charge(2000)
		if used, peak := b.usage(); used != 2100 || peak != 2100 || !b.tight() {
			t.Fatalf("after charge: used %d peak %d tight %v", used, peak, b.tight())
		}
		tctx2, cancel2 := context.WithTimeout(ctx, time.Second)
		defer cancel2()
		if own, err := a.acquire(tctx2, 1); err == nil || own {
			t.Fatalf("acquire with the node full: own %v err %v, want the node's fault", own, err)
		}
	})
}
