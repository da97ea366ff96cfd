package driver

import (
	"github.com/shoalkv/shoal/driver/coord"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// plan is the sloppy quorum of one request: a coord.Plan, which the
// request's machine (coord.Write, coord.Read) takes over.
type plan = coord.Plan

// newPlan plans a request over the key's preference list and the failure
// detector's beliefs (Client.plan): coord.NewPlan.
func newPlan(primaries, fallbacks []ring.Node, up func(ring.NodeID) bool) *plan {
	return coord.NewPlan(primaries, fallbacks, up)
}
