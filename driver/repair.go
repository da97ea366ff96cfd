package driver

import (
	"context"
	"sync/atomic"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// maxRepairs bounds read repairs in flight per client. A read that finds the
// bound reached skips its repairs (counted in Stats): repair is an
// optimisation of convergence, and under overload it must not add load
// without limit. Hinted handoff and later reads still converge the replicas.
const maxRepairs = 32

// stats are the driver's counters.
type stats struct {
	repairs, repairsSkipped, repairsFailed atomic.Uint64
}

// Stats are counters since Open.
type Stats struct {
	// ReadRepairs counts repair writes sent to stale primaries after reads;
	// ReadRepairsSkipped those not sent because maxRepairs were in flight;
	// ReadRepairsFailed those the replica did not acknowledge.
	ReadRepairs, ReadRepairsSkipped, ReadRepairsFailed uint64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		ReadRepairs:        c.stats.repairs.Load(),
		ReadRepairsSkipped: c.stats.repairsSkipped.Load(),
		ReadRepairsFailed:  c.stats.repairsFailed.Load(),
	}
}

// repair sends merged, in the background, to the stale primaries a read
// found (coord.ReadResult.Repairs; paper §4.6 read repair). It is a
// replicate, so the replica merges: a repair can never overwrite a value the
// read did not see.
func (c *Client) repair(key []byte, merged dvv.Set, stale []ring.Node) {
	for _, n := range stale {
		select {
		case c.repairs <- struct{}{}:
		default:
			c.stats.repairsSkipped.Add(1)
			continue
		}
		c.stats.repairs.Add(1) // before the repair can count itself failed
		started := c.spawn(func() {
			defer func() { <-c.repairs }()
			// Not ended by Close (Close waits for it); call bounds it.
			if err := c.call(context.Background(), n, &wire.Replicate{Key: key, Object: merged}, &wire.Ack{}); err != nil {
				c.stats.repairsFailed.Add(1)
				c.log.Debug("read repair failed", "node", n.ID, "err", err)
			}
		})
		if !started {
			c.stats.repairs.Add(^uint64(0)) // not sent after all
			<-c.repairs
			return
		}
	}
}
