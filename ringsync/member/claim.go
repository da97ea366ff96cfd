package member

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Claim is the claimant-owned part of the state: the ring and everything
// decided with it. Only the claimant writes it, and each new claim has a
// higher ring version, so claims are ordered by Ring.Version() alone.
//
// A Claim is a plain value; once given to [State.WithClaim] neither it nor
// its slices may be modified.
type Claim struct {
	// Ring is the current ring: who owns each partition now.
	Ring *ring.Ring
	// Target is the ring the cluster is moving to, nil when no change is in
	// progress. Its version carries no meaning; only its ownership does.
	Target *ring.Ring
	// Plan is the ring version that committed Target, 0 when Target is nil.
	// A node's received transfers count only for this plan.
	Plan uint64
	// Members holds one entry per node that is or was a member, sorted by
	// id, unique.
	Members []Entry
	// Transfers are the replica copies the plan needs, sorted by partition
	// then receiver, unique; empty when Target is nil.
	Transfers []Transfer
}

// Entry is the claimant's view of one member.
type Entry struct {
	ID ring.NodeID
	// Addr is the address given when the node joined.
	Addr string
	// Status is never None: a node with no entry has status None.
	Status Status
}

// Transfer is one replica that a node must receive before the partition's
// new replica set takes effect: To pulls Partition from From (Dynamo §4.9).
type Transfer struct {
	Partition int
	// From is the member to pull from: one of the current replicas, and
	// among them one that will lose its replica if possible. Empty when no
	// current replica survives (every one was removed): the data is lost
	// unless a removed node comes back.
	From ring.NodeID
	// To is the receiver, a replica in the target ring.
	To ring.NodeID
}

// Entry returns the claim's entry for id, if any.
func (c Claim) Entry(id ring.NodeID) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(c.Members, id, func(e Entry, id ring.NodeID) int {
		return strings.Compare(string(e.ID), string(id))
	})
	if !ok {
		return Entry{}, false
	}
	return c.Members[i], true
}

// HasTransfer reports whether the plan includes the transfer of partition p
// to node to.
func (c Claim) HasTransfer(p int, to ring.NodeID) bool {
	_, ok := slices.BinarySearchFunc(c.Transfers, Transfer{Partition: p, To: to}, cmpTransfer)
	return ok
}

// cmpTransfer orders transfers by partition, then receiver.
func cmpTransfer(a, b Transfer) int {
	return cmp.Or(cmp.Compare(a.Partition, b.Partition), strings.Compare(string(a.To), string(b.To)))
}

// check reports whether c is well formed.
func (c Claim) check() error {
	if c.Ring == nil {
		return fmt.Errorf("%w: claim without a ring", ErrInvalid)
	}
	if err := c.checkMembers(); err != nil {
		return err
	}
	if (c.Target == nil) != (c.Plan == 0) {
		return fmt.Errorf("%w: target ring present %v with plan %d", ErrInvalid, c.Target != nil, c.Plan)
	}
	if c.Plan > c.Ring.Version() {
		return fmt.Errorf("%w: plan %d after ring version %d", ErrInvalid, c.Plan, c.Ring.Version())
	}
	if c.Target == nil {
		if len(c.Transfers) > 0 {
			return fmt.Errorf("%w: %d transfers without a target ring", ErrInvalid, len(c.Transfers))
		}
		return nil
	}
	if c.Target.Partitions() != c.Ring.Partitions() {
		return fmt.Errorf("%w: target ring of %d partitions, ring of %d", ErrInvalid, c.Target.Partitions(), c.Ring.Partitions())
	}
	if err := c.inMembers("target ring", c.Target); err != nil {
		return err
	}
	return c.checkTransfers()
}

// checkMembers checks the entries and that every ring node has one.
func (c Claim) checkMembers() error {
	if len(c.Members) > MaxMembers {
		return fmt.Errorf("%w: %d member entries, at most %d", ErrInvalid, len(c.Members), MaxMembers)
	}
	for i, e := range c.Members {
		if err := checkAddr(e.ID, e.Addr); err != nil {
			return err
		}
		if e.Status == None || !e.Status.valid() {
			return fmt.Errorf("%w: %q has status %v", ErrInvalid, e.ID, e.Status)
		}
		if i > 0 && c.Members[i-1].ID >= e.ID {
			return fmt.Errorf("%w: member entries not sorted and unique at %q", ErrInvalid, e.ID)
		}
	}
	return c.inMembers("ring", c.Ring)
}

// inMembers checks that every node of r has an entry.
func (c Claim) inMembers(what string, r *ring.Ring) error {
	for _, n := range r.Nodes() {
		if _, ok := c.Entry(n.ID); !ok {
			return fmt.Errorf("%w: %s node %q has no member entry", ErrInvalid, what, n.ID)
		}
	}
	return nil
}

// checkTransfers checks the transfers against the target ring.
func (c Claim) checkTransfers() error {
	if len(c.Transfers) > MaxTransfers {
		return fmt.Errorf("%w: %d transfers, at most %d", ErrInvalid, len(c.Transfers), MaxTransfers)
	}
	for i, t := range c.Transfers {
		if t.Partition < 0 || t.Partition >= c.Ring.Partitions() {
			return fmt.Errorf("%w: transfer of partition %d", ErrInvalid, t.Partition)
		}
		if _, ok := c.Target.Node(t.To); !ok {
			return fmt.Errorf("%w: transfer to %q, not in the target ring", ErrInvalid, t.To)
		}
		if _, ok := c.Entry(t.From); t.From != "" && !ok {
			return fmt.Errorf("%w: transfer from %q, not a member", ErrInvalid, t.From)
		}
		if t.From == t.To {
			return fmt.Errorf("%w: transfer of partition %d from %q to itself", ErrInvalid, t.Partition, t.To)
		}
		if i > 0 && cmpTransfer(c.Transfers[i-1], t) >= 0 {
			return fmt.Errorf("%w: transfers not sorted and unique at partition %d", ErrInvalid, t.Partition)
		}
	}
	return nil
}

// equal reports whether c and o hold the same claim.
func (c Claim) equal(o Claim) bool {
	sameTarget := (c.Target == nil) == (o.Target == nil) && (c.Target == nil || c.Target.Equal(o.Target))
	return c.Ring.Equal(o.Ring) && sameTarget && c.Plan == o.Plan &&
		slices.Equal(c.Members, o.Members) && slices.Equal(c.Transfers, o.Transfers)
}
