package stage

import (
	"slices"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// Advance is the claimant's step between commits. It returns the next state
// and true if there is anything to do, else s and false. In one new ring
// version it:
//
//   - flips to their target owner the partitions it safely can: a flip is
//     taken only if every node it brings into any partition's replica set
//     has reported that replica's transfer done (Record.Received for the
//     plan), so ownership never runs ahead of the data (Dynamo §4.9;
//     riak_core hands off before it changes owner), and it takes no replica
//     out of a set that the target keeps it in. It flips everything at
//     once if it can, else partition by partition in increasing order;
//   - ends the plan when the ring reaches the target ownership;
//   - makes a joining member valid once it owns a partition and every
//     transfer to it is done;
//   - makes a leaving member exiting once the plan has ended without it;
//   - makes an exiting member removed once every member, that one included,
//     has seen the current version (riak_core#97: the exiting node learns it
//     owns nothing before it is dropped).
//
// The old owners keep their copies: a node drops a replica only when it is
// in neither the current nor the target replica set and every member has
// seen the version that took it out (the shell's rule).
//
// Errors: [ErrOptions]; [ErrNotClaimant] unless by is the claimant.
func Advance(s *member.State, by ring.NodeID, o Options) (*member.State, bool, error) {
	if err := o.Validate(); err != nil {
		return nil, false, err
	}
	if err := atClaimant(s, by); err != nil {
		return nil, false, err
	}
	c := s.Claim()
	changed := false
	var flips []int
	if c.Target != nil {
		flips = flippable(s, o.n())
		changed = len(flips) > 0
	}
	next, err := c.Ring.Toward(orSelf(c.Target, c.Ring), flips)
	if err != nil {
		return nil, false, err
	}
	nc := member.Claim{Ring: next, Target: c.Target, Plan: c.Plan, Members: slices.Clone(c.Members), Transfers: c.Transfers}
	if c.Target != nil && next.Moves(c.Target) == 0 {
		nc.Target, nc.Plan, nc.Transfers = nil, 0, nil
		changed = true
	}
	ready := member.Ready(s)
	for i, e := range nc.Members {
		st := e.Status
		_, owns := next.Node(e.ID)
		switch {
		case st == member.Joining && owns && allDone(s, e.ID):
			st = member.Valid
		case st == member.Leaving && nc.Target == nil && !owns:
			st = member.Exiting
		case st == member.Exiting && ready:
			st = member.Removed
		}
		if st != e.Status {
			nc.Members[i].Status, changed = st, true
		}
	}
	if !changed {
		return s, false, nil
	}
	t, err := s.WithClaim(nc)
	if err != nil {
		return nil, false, err
	}
	return t, true, nil
}

func orSelf(target, r *ring.Ring) *ring.Ring {
	if target == nil {
		return r
	}
	return target
}

// done reports whether the transfer of partition q to x is in the plan and
// x has reported it received.
func done(s *member.State, q int, x ring.NodeID) bool {
	c := s.Claim()
	if !c.HasTransfer(q, x) {
		return false
	}
	rec, ok := s.Record(x)
	return ok && rec.Done(c.Plan, q)
}

// safeStep reports whether partition q's replica set may change from from
// to into on the way to target: everyone it gains has received q, and it
// keeps every replica that is in the target set (a replica dropped on the
// way would miss writes and come back stale). Steps that keep both rules
// end on the target once every transfer is done, since then every node
// still to enter is a transfer's receiver.
func safeStep(s *member.State, q int, from, into, target []ring.NodeID) bool {
	for _, x := range gained(from, into) {
		if !done(s, q, x) {
			return false
		}
	}
	for _, x := range from {
		if slices.Contains(target, x) && !slices.Contains(into, x) {
			return false
		}
	}
	return true
}

// allDone reports whether every transfer to x is done.
func allDone(s *member.State, x ring.NodeID) bool {
	for _, t := range s.Claim().Transfers {
		if t.To == x && !done(s, t.Partition, x) {
			return false
		}
	}
	return true
}

// flippable returns the partitions to flip toward the target, increasing.
func flippable(s *member.State, n int) []int {
	c := s.Claim()
	cur, to := ownersOf(c.Ring), ownersOf(c.Target)
	var pending []int
	for p := range cur {
		if cur[p] != to[p] {
			pending = append(pending, p)
		}
	}
	targetNodes := len(c.Target.Nodes())
	safe := func(q int, from, into []ring.NodeID) bool {
		return safeStep(s, q, from, into, to.replicas(q, n, targetNodes))
	}
	all := true
	for q := range cur {
		if !safe(q, cur.replicas(q, n, len(c.Ring.Nodes())), to.replicas(q, n, len(c.Target.Nodes()))) {
			all = false
			break
		}
	}
	if all {
		return pending
	}
	t := newTrial(cur)
	var flips []int
	for _, p := range pending {
		if t.tryFlip(p, to[p], n, safe) {
			flips = append(flips, p)
		}
	}
	return flips
}

// trial is an ownership being changed one partition at a time, with each
// owner's partition count, so that the member count is known at each step.
type trial struct {
	owners owners
	counts map[ring.NodeID]int
}

func newTrial(o owners) *trial {
	t := &trial{owners: slices.Clone(o), counts: map[ring.NodeID]int{}}
	for _, id := range o {
		t.counts[id]++
	}
	return t
}

// tryFlip gives partition p to id if safe accepts the replica-set change of
// every partition whose preference walk reaches p, and reports whether it
// did. Walks from partitions further back than n distinct owners do not
// reach p, so only those are checked.
func (t *trial) tryFlip(p int, id ring.NodeID, n int, safe func(q int, from, into []ring.NodeID) bool) bool {
	q := len(t.owners)
	old := t.owners[p]
	before := len(t.counts)
	after := before
	if t.counts[id] == 0 {
		after++
	}
	if t.counts[old] == 1 {
		after--
	}
	flipped := slices.Clone(t.owners)
	flipped[p] = id
	behind := map[ring.NodeID]bool{}
	for d := range q {
		r := (p - d + q) % q
		if d > 0 {
			behind[t.owners[r]] = true
			if len(behind) >= n {
				break
			}
		}
		if !safe(r, t.owners.replicas(r, n, before), flipped.replicas(r, n, after)) {
			return false
		}
	}
	t.owners = flipped
	t.counts[old]--
	if t.counts[old] == 0 {
		delete(t.counts, old)
	}
	t.counts[id]++
	return true
}
