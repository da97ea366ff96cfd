package stage

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// Request asks to commit a plan.
type Request struct {
	// Base is the ring version the plan was made on: [Plan.Base].
	Base uint64
	// Hash is the plan the operator saw: [Plan.Hash].
	Hash Hash
	// By is the node applying the commit, which must be the claimant.
	By ring.NodeID
}

// Commit applies the staged changes as planned, a compare-and-set on the
// ring version. It is refused unless:
//   - By is the claimant ([ErrNotClaimant]) and no plan is in progress
//     ([ErrBusy]);
//   - the ring is still at version Base ([ErrVersion]);
//   - every valid, leaving and exiting member, other than those this plan
//     removes, has seen the current version and is live by o.Live
//     ([ErrNotReady]): riak_core's ring_ready, so two sides of a split,
//     neither hearing from every member, cannot both commit;
//   - the plan recomputed from s has hash Hash ([ErrPlanChanged]).
//
// The result has the next ring version with the same ownership (data moves
// before ownership: see [Advance]), the plan's target ring and transfers,
// nothing staged, joining nodes (and replacements) joining, leavers (and
// replaced nodes) leaving, and removed nodes removed at once.
func Commit(s *member.State, req Request, o Options) (*member.State, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := atClaimant(s, req.By); err != nil {
		return nil, err
	}
	if s.Claim().Target != nil {
		return nil, fmt.Errorf("%w: plan of version %d", ErrBusy, s.Claim().Plan)
	}
	if s.Version() != req.Base {
		return nil, fmt.Errorf("%w: planned on %d, ring is at %d", ErrVersion, req.Base, s.Version())
	}
	p, err := Make(s, o)
	if err != nil {
		return nil, err
	}
	if missing := unconfirmed(s, removedBy(s, p.Changes), o); len(missing) > 0 {
		return nil, fmt.Errorf("%w: not seen version %d or not live: %v", ErrNotReady, s.Version(), missing)
	}
	if p.Hash != req.Hash {
		return nil, fmt.Errorf("%w: hash %v, planned %v", ErrPlanChanged, p.Hash, req.Hash)
	}
	next, err := s.Ring().Toward(s.Ring(), nil)
	if err != nil {
		return nil, err
	}
	c := member.Claim{Ring: next, Members: applyStatuses(s.Claim().Members, p.Changes)}
	if p.Owners > 0 {
		c.Target, c.Plan, c.Transfers = p.Target, next.Version(), p.Transfers
	}
	t, err := s.WithClaim(c)
	if err != nil {
		return nil, err
	}
	return t.WithStaged(nil)
}

// atClaimant checks that by is s's claimant.
func atClaimant(s *member.State, by ring.NodeID) error {
	if id, ok := member.Claimant(s); !ok || id != by {
		return fmt.Errorf("%w: %q, the claimant is %q", ErrNotClaimant, by, id)
	}
	return nil
}

// unconfirmed lists the members that must confirm but have not seen the
// current version or are not live, except removed ones.
func unconfirmed(s *member.State, removed func(ring.NodeID) bool, o Options) []ring.NodeID {
	var ids []ring.NodeID
	for _, id := range member.Unready(s) {
		if !removed(id) {
			ids = append(ids, id)
		}
	}
	for _, e := range s.Claim().Members {
		if (e.Status == member.Valid || e.Status == member.Leaving || e.Status == member.Exiting) &&
			!removed(e.ID) && !o.live(e.ID) && !slices.Contains(ids, e.ID) {
			ids = append(ids, e.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// applyStatuses returns entries with the statuses changes set.
func applyStatuses(entries []member.Entry, changes []member.Change) []member.Entry {
	out := slices.Clone(entries)
	set := func(id ring.NodeID, addr string, st member.Status) {
		i, ok := slices.BinarySearchFunc(out, id, func(e member.Entry, id ring.NodeID) int {
			return strings.Compare(string(e.ID), string(id))
		})
		switch {
		case ok && addr != "":
			out[i] = member.Entry{ID: id, Addr: addr, Status: st}
		case ok:
			out[i].Status = st
		default:
			out = slices.Insert(out, i, member.Entry{ID: id, Addr: addr, Status: st})
		}
	}
	for _, c := range changes {
		switch c.Kind {
		case member.Join:
			set(c.Node.ID, c.Node.Addr, member.Joining)
		case member.Leave:
			set(c.ID, "", member.Leaving)
		case member.Replace:
			set(c.ID, "", member.Leaving)
			set(c.Node.ID, c.Node.Addr, member.Joining)
		case member.Remove:
			set(c.ID, "", member.Removed)
		}
	}
	return out
}
