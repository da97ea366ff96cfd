package driver

import (
	"context"
	"sync"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
)

// NodeStatus is one node as the driver sees it.
type NodeStatus struct {
	Node ring.Node
	// Believed is the failure detector's view once this status call ended
	// (the call itself counts as traffic): "up" or "down"; Belief gives the
	// detail.
	Believed string
	Belief   Belief
	// Info is the node's own report; zero when Err is set.
	Info wire.StatusOK
	Err  error
}

// Status asks every ring member to describe itself, in ring order (sorted by
// id). It never fails as a whole: unreachable nodes carry Err.
func (c *Client) Status(ctx context.Context) []NodeStatus {
	nodes := c.ring.Load().Nodes()
	out := make([]NodeStatus, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		out[i].Node = n
		wg.Go(func() {
			out[i].Err = c.call(ctx, n, &wire.StatusReq{}, &out[i].Info)
			out[i].Belief = c.health.belief(n.ID)
			out[i].Believed = "up"
			if !out[i].Belief.Up {
				out[i].Believed = "down"
			}
		})
	}
	wg.Wait()
	return out
}
