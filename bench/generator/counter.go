package generator

import (
	"sync"
	"sync/atomic"
)

// Counter hands out the item numbers that inserts create and tracks which
// inserts have finished, so that reads choose only among items that exist
// (YCSB's acknowledged counter). An insert reserves a number, runs, and
// acknowledges it whether it succeeded or not (a failed insert is then read
// as not found, as in YCSB). Safe for concurrent use.
type Counter struct {
	limit atomic.Int64 // every item below it is acknowledged

	mu   sync.Mutex
	next int64
	done map[int64]struct{} // acknowledged items above limit
}

// NewCounter returns a counter whose items [0, start) already exist.
func NewCounter(start int64) *Counter {
	c := &Counter{next: start, done: map[int64]struct{}{}}
	c.limit.Store(start)
	return c
}

// Reserve returns the next item to insert.
func (c *Counter) Reserve() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.next
	c.next++
	return k
}

// Ack records that the insert of item k has finished.
func (c *Counter) Ack(k int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.limit.Load()
	if k < limit || k >= c.next {
		panic("generator: acknowledging an item that was not reserved or was acknowledged")
	}
	if k != limit {
		c.done[k] = struct{}{}
		return
	}
	limit++
	for {
		if _, ok := c.done[limit]; !ok {
			break
		}
		delete(c.done, limit)
		limit++
	}
	c.limit.Store(limit)
}

// Limit returns how many items exist: every item below it is acknowledged.
func (c *Counter) Limit() int64 { return c.limit.Load() }
