package driver

import (
	"context"
	"sync"
	"time"

	"github.com/shoalkv/shoal/wire"
)

// probe brings nodes believed down back (Voldemort's asynchronous
// recovery): run every ProbeInterval (or as soon as the previous run ends,
// when the probes waited longer), it asks each of them for the ring, a
// request that costs a node almost nothing, on a fresh connection (see
// wire.Endpoint.Redial), and marks the ones that answer up. User requests
// never serve as probes, so they do not wait on a dead node.
func (c *Client) probe() {
	down := c.health.downNodes()
	if len(down) == 0 {
		return
	}
	r := c.ring.Load()
	// One interval, or the attempt limit in force if longer: on a starved
	// machine a probe must have as long as a request to get its answer.
	wait := max(c.cfg.ProbeInterval, c.health.thresholds().Limit)
	var wg sync.WaitGroup
	for _, id := range down {
		n, ok := r.Node(id)
		if !ok {
			c.health.recovered(id, c.clock.Now()) // no longer a member: forget it
			continue
		}
		wg.Go(func() {
			c.ep.Redial(n.Addr)
			// The next tick probes again on a fresh dial rather than
			// waiting on this one's handshake backoff.
			ctx, cancel := context.WithTimeout(c.ctx, wait)
			defer cancel()
			if err := c.ep.Call(ctx, n.Addr, string(n.ID), &wire.RingReq{}, &wire.RingOK{}); err == nil {
				c.health.recovered(id, c.clock.Now())
				c.log.Info("node answers again", "node", id)
			}
		})
	}
	wg.Wait()
}

// every runs fn each period until ctx ends; a run that overlaps a tick
// delays the next one rather than running twice.
func (c *Client) every(ctx context.Context, period time.Duration, fn func()) {
	t := c.clock.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			fn()
		}
	}
}
