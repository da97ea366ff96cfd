package stage

import (
	"slices"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// owners lists each partition's owner: a ring's ownership in a form that a
// step can change one partition at a time.
type owners []ring.NodeID

func ownersOf(r *ring.Ring) owners {
	o := make(owners, r.Partitions())
	for p := range o {
		o[p] = r.Owner(p)
	}
	return o
}

// distinct counts the different owners.
func (o owners) distinct() int {
	ids := slices.Clone(o)
	slices.Sort(ids)
	return len(slices.Compact(ids))
}

// replicas returns partition p's replica set: walking clockwise from p, the
// first k distinct owners, k being min(n, the number of distinct owners
// given as members). It is the primaries of ring.PreferenceOf (Dynamo §4.3)
// for a ring with these owners.
func (o owners) replicas(p, n, members int) []ring.NodeID {
	k := min(n, members)
	set := make([]ring.NodeID, 0, k)
	for i := 0; i < len(o) && len(set) < k; i++ {
		id := o[(p+i)%len(o)]
		if !slices.Contains(set, id) {
			set = append(set, id)
		}
	}
	return set
}

// gained returns the members of to that are not in from, in to's order.
func gained(from, to []ring.NodeID) []ring.NodeID {
	var ids []ring.NodeID
	for _, id := range to {
		if !slices.Contains(from, id) {
			ids = append(ids, id)
		}
	}
	return ids
}
