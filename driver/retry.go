package driver

import (
	"context"
	"time"

	"github.com/shoalkv/shoal/driver/coord"
	"github.com/shoalkv/shoal/wire"
)

// Slowness is not failure: a Get, Put or Delete whose attempt failed only
// for want of answers (nodes believed down, attempts timed out, silent
// nodes) tries again, over a fresh plan, until the caller's deadline,
// instead of failing while most of its time is left. Under CPU starvation
// every node can look down for a while; the probe and the scaled limits
// bring them back, and the retry finds them. A refusal that every node
// would repeat, or the caller's end, still fails at once.

// Backoff between attempts: from firstBackoff, doubling up to
// ProbeInterval (by then the probe has had a go at the nodes believed
// down), each drawn uniformly from its upper half so that callers who
// failed together do not retry together.
const firstBackoff = 10 * time.Millisecond

// retryable reports whether a failed attempt may be made again: the
// caller has not ended it, and no replica refused it for good.
func retryable(f coord.Failure) bool {
	if f.Ended != nil {
		return false
	}
	for _, c := range f.Causes {
		if wire.ClassOf(c.Err).Final() {
			return false
		}
	}
	return true
}

// pause waits before attempt number attempt+1 (attempt counts from 0) and
// reports whether to make it: false when ctx ends first.
func (c *Client) pause(ctx context.Context, attempt int) bool {
	d := c.cfg.ProbeInterval
	if attempt < 16 {
		d = min(d, firstBackoff<<attempt)
	}
	d = d/2 + time.Duration(c.rand.Int64N(int64(d/2)+1))
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return ctx.Err() == nil
	}
}

// gaveUp is the failure f of the last attempt, once ctx ended while the
// operation waited to try again: the caller's end is the call-wide cause.
func gaveUp(ctx context.Context, f coord.Failure) coord.Failure {
	if f.Ended == nil {
		f.Ended = ctx.Err()
	}
	return f
}
