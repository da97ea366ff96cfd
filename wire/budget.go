package wire

import (
	"context"
	"sync"
)

// ledger is the pure core of the memory budget: how many bytes a node and
// each of its connections hold, against a node total and a per-connection
// share. Bytes are of three kinds, all charged the same way: a frame body
// while it is received (its declared length, reserved before the body is
// read), a request while its handler runs (the body plus a reserve for the
// answer it will produce), and an encoded answer until the lane writer has
// handed it to QUIC. Not safe for concurrent use; budget wraps it.
type ledger struct {
	total, share int64 // limits
	used, peak   int64 // node-wide bytes now and at most
	// est is what a request reserves for its answer before its handler
	// runs: the largest recent answer, decaying by 1/64 per answer seen,
	// never under minReserve. A peer that asks many small requests for
	// large answers is thus held to share/est requests at once as soon as
	// the first large answers come back, before their bytes pile up.
	est int64
}

// minReserve is the least a request reserves for its answer.
const minReserve = 16 << 10

// observe folds an answer of n bytes into the estimate.
func (l *ledger) observe(n int64) {
	l.est -= l.est / 64
	l.est = max(l.est, n, minReserve)
}

// fits reports whether a connection holding held bytes may take n more.
// One request larger than a share (a 16 MiB frame against a 32 MiB share
// is fine; a share of 1 MiB is not) is still servable alone: a connection
// holding nothing may take any n the node total allows, and a node holding
// nothing may take any n at all.
func (l *ledger) fits(held, n int64) bool {
	connOK := held == 0 || held+n <= l.share
	nodeOK := l.used == 0 || l.used+n <= l.total
	return connOK && nodeOK
}

// overShare reports whether held bytes are past the connection's share:
// the connection, not the node, is what keeps the next request waiting.
func (l *ledger) overShare(held, n int64) bool {
	return held != 0 && held+n > l.share
}

// add charges n (negative: releases) and keeps the peak.
func (l *ledger) add(n int64) {
	l.used += n
	if l.used > l.peak {
		l.peak = l.used
	}
	if l.used < 0 {
		panic("wire: memory budget released more than it charged")
	}
}

// budget is a node's memory budget, shared by its connections: a ledger
// under a mutex, with waiting. Safe for concurrent use.
type budget struct {
	mu      sync.Mutex
	l       ledger
	changed chan struct{} // closed and replaced whenever bytes are released
}

func newBudget(total, share int64) *budget {
	return &budget{l: ledger{total: total, share: share, est: minReserve}, changed: make(chan struct{})}
}

// reserve is what a request reserves now for its answer.
func (b *budget) reserve() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.l.est
}

// observe records an answer's size for later reserves.
func (b *budget) observe(n int64) {
	b.mu.Lock()
	b.l.observe(n)
	b.mu.Unlock()
}

// connBudget is one connection's account in a budget.
type connBudget struct {
	b    *budget
	held int64 // under b.mu
}

func (b *budget) conn() *connBudget { return &connBudget{b: b} }

// acquire takes n bytes, waiting while they do not fit, until ctx ends.
// On ctx's end it returns ctx's error and whether the connection's own share
// (rather than the node total) was what it waited on last.
func (c *connBudget) acquire(ctx context.Context, n int64) (ownFault bool, err error) {
	b := c.b
	for {
		b.mu.Lock()
		if b.l.fits(c.held, n) {
			c.held += n
			b.l.add(n)
			b.mu.Unlock()
			return false, nil
		}
		own := b.l.overShare(c.held, n)
		wait := b.changed
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return own, ctx.Err()
		}
	}
}

// tryAcquire takes n bytes if they fit now.
func (c *connBudget) tryAcquire(n int64) bool {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.l.fits(c.held, n) {
		return false
	}
	c.held += n
	b.l.add(n)
	return true
}

// charge takes n bytes without waiting: for bytes already in memory (an
// answer just encoded), which must be accounted even past the limits.
func (c *connBudget) charge(n int64) {
	c.b.mu.Lock()
	c.held += n
	c.b.l.add(n)
	c.b.mu.Unlock()
}

// release gives back n bytes taken by acquire or charge.
func (c *connBudget) release(n int64) {
	if n == 0 {
		return
	}
	b := c.b
	b.mu.Lock()
	c.held -= n
	if c.held < 0 {
		b.mu.Unlock()
		panic("wire: connection released more budget than it held")
	}
	b.l.add(-n)
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// heldNow is the connection's bytes now.
func (c *connBudget) heldNow() int64 {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return c.held
}

// usage returns the node's bytes now and at most.
func (b *budget) usage() (used, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.l.used, b.l.peak
}

// tight reports whether the node holds its whole total: QUIC flow-control
// windows stop growing then.
func (b *budget) tight() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.l.used >= b.l.total
}
