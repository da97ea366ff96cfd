package driver

import (
	"context"
	"sync"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
)

// NodeStatus is one node as the driver sees it.
type NodeStatus struct {
	Node ring.Node
	// Believed is the failure detector's view before this status call.
	Believed string // "up" or "down"
	// Info is the node's own report; zero when Err is set.
	Info wire.StatusOK
	Err  error
}

// Status asks every ring member to describe itself, in ring order (sorted by
// id). It never fails as a whole: unreachable nodes carry Err.
func (c *Client) Status(ctx context.Context) []NodeStatus {
	nodes := c.ring.Load().Nodes()
	out := make([]NodeStatus, len(nodes))
	now := time.Now()
	var wg sync.WaitGroup
	for i, n := range nodes {
		out[i].Node = n
		out[i].Believed = "up"
		if !c.health.up(n.ID, now) {
			out[i].Believed = "down"
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
			defer cancel()
			out[i].Err = c.call(cctx, n, &wire.StatusReq{}, &out[i].Info)
		})
	}
	wg.Wait()
	return out
}
