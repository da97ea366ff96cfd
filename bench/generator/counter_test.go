package generator

import (
	"math/rand/v2"
	"sync"
	"testing"
)

func TestCounterLimitFollowsContiguousAcks(t *testing.T) {
	c := NewCounter(10)
	a, b, d := c.Reserve(), c.Reserve(), c.Reserve()
	if a != 10 || b != 11 || d != 12 {
		t.Fatalf("reserved %d %d %d", a, b, d)
	}
	c.Ack(b)
	c.Ack(d)
	if c.Limit() != 10 {
		t.Fatalf("limit %d before the oldest insert finished, want 10", c.Limit())
	}
	c.Ack(a)
	if c.Limit() != 13 {
		t.Fatalf("limit %d, want 13", c.Limit())
	}
}

func TestCounterConcurrent(t *testing.T) {
	c := NewCounter(0)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 0))
			var held []int64
			for range 1000 {
				held = append(held, c.Reserve())
				if r.IntN(2) == 0 {
					i := r.IntN(len(held))
					c.Ack(held[i])
					held = append(held[:i], held[i+1:]...)
				}
			}
			for _, k := range held {
				c.Ack(k)
			}
		})
	}
	wg.Wait()
	if c.Limit() != 8000 {
		t.Fatalf("limit %d, want 8000", c.Limit())
	}
}

func TestDiscrete(t *testing.T) {
	d, err := NewDiscrete([]string{"read", "scan", "update"}, []float64{0.95, 0, 0.05})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	counts := map[string]int{}
	const n = 100_000
	for range n {
		counts[d.Next(r)]++
	}
	if counts["scan"] != 0 {
		t.Errorf("weight 0 chosen %d times", counts["scan"])
	}
	// Binomial sd for p=0.05 over 100,000 draws is about 69.
	if u := counts["update"]; u < 5000-400 || u > 5000+400 {
		t.Errorf("update chosen %d times, want about 5000", u)
	}
	if _, err := NewDiscrete([]int{1, 2}, []float64{0, 0}); err == nil {
		t.Error("all-zero weights accepted")
	}
	if _, err := NewDiscrete([]int{1}, []float64{-1}); err == nil {
		t.Error("negative weight accepted")
	}
}
