package stage

import (
	"slices"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// What the shells ask of a state while a plan is in progress.

// Incoming returns, sorted, the nodes receiving partition p that are not yet
// among its current replicas: during a transfer the driver also writes to
// them (that copy does not count toward W), so the data they pulled does
// not go stale before their ownership flips. None when no plan is in
// progress.
func Incoming(s *member.State, p int, o Options) []ring.NodeID {
	c := s.Claim()
	if c.Target == nil {
		return nil
	}
	cur := replicaSet(c.Ring, p, o.n())
	var ids []ring.NodeID
	for _, t := range c.Transfers {
		if t.Partition == p && !slices.Contains(cur, t.To) {
			ids = append(ids, t.To)
		}
	}
	return ids // transfers are sorted by partition then receiver
}

// Pending returns the transfers to id that it has not reported done, by
// increasing partition: what its handoff still has to pull.
func Pending(s *member.State, id ring.NodeID) []member.Transfer {
	var out []member.Transfer
	for _, t := range s.Claim().Transfers {
		if t.To == id && !done(s, t.Partition, id) {
			out = append(out, t)
		}
	}
	return out
}

// Replicates reports whether id must keep partition p's data: it is one of
// p's current replicas, one of its target replicas, or receiving it. A node
// may drop a partition it holds only when this is false and
// member.Ready(s) holds, so every member has seen the ring that took the
// replica away.
func Replicates(s *member.State, id ring.NodeID, p int, o Options) bool {
	c := s.Claim()
	if slices.Contains(replicaSet(c.Ring, p, o.n()), id) {
		return true
	}
	return c.Target != nil && (slices.Contains(replicaSet(c.Target, p, o.n()), id) || c.HasTransfer(p, id))
}

// replicaSet returns p's first n distinct owners in r.
func replicaSet(r *ring.Ring, p, n int) []ring.NodeID {
	pri, _ := r.PreferenceOf(p, n)
	ids := make([]ring.NodeID, len(pri))
	for i, nd := range pri {
		ids[i] = nd.ID
	}
	return ids
}
