package member

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Record is what a node says about itself. Only that node writes it, and
// every new record it writes has a higher (Epoch, Incarnation, Seq), which
// orders a node's records.
//
// A Record is a plain value; once given to [State.WithRecord] its Received
// slice must not be modified.
type Record struct {
	ID ring.NodeID
	// Addr is the node's "host:port" address as the node announces it.
	Addr string
	// Epoch is the node's store epoch: it rises when the node's data
	// directory is new, wiped or from an earlier incarnation.
	Epoch uint64
	// Incarnation rises when the node refutes a suspicion of its death
	// (SWIM) or restarts.
	Incarnation uint64
	// Seq rises with every other change the node makes to its record.
	Seq uint64
	// Seen is the highest ring version the node has durably applied. It
	// never decreases within an epoch.
	Seen uint64
	// Plan is the plan (a [Claim.Plan]) that Received refers to, 0 if none.
	Plan uint64
	// Received lists, in increasing order, the partitions of that plan
	// whose transfers to this node are done: data pulled and checked.
	Received []int
}

// cmpRecord orders two records of one node by (Epoch, Incarnation, Seq).
func cmpRecord(a, b Record) int {
	return cmp.Or(cmp.Compare(a.Epoch, b.Epoch), cmp.Compare(a.Incarnation, b.Incarnation), cmp.Compare(a.Seq, b.Seq))
}

// Done reports whether the node has received partition p for plan.
func (r Record) Done(plan uint64, p int) bool {
	if plan == 0 || r.Plan != plan {
		return false
	}
	_, ok := slices.BinarySearch(r.Received, p)
	return ok
}

// check reports whether r is well formed.
func (r Record) check() error {
	if err := checkAddr(r.ID, r.Addr); err != nil {
		return err
	}
	if r.Plan == 0 && len(r.Received) > 0 {
		return fmt.Errorf("%w: %q: received partitions without a plan", ErrInvalid, r.ID)
	}
	if len(r.Received) > ring.MaxPartitions {
		return fmt.Errorf("%w: %q: %d received partitions", ErrInvalid, r.ID, len(r.Received))
	}
	for i, p := range r.Received {
		if p < 0 || p >= ring.MaxPartitions || (i > 0 && r.Received[i-1] >= p) {
			return fmt.Errorf("%w: %q: received partitions not increasing in range at %d", ErrInvalid, r.ID, p)
		}
	}
	return nil
}

// equal reports whether r and o are the same record.
func (r Record) equal(o Record) bool {
	return r.ID == o.ID && r.Addr == o.Addr && cmpRecord(r, o) == 0 && r.Seen == o.Seen &&
		r.Plan == o.Plan && slices.Equal(r.Received, o.Received)
}
