package ring

import (
	"fmt"
	"slices"
)

// Leave returns the next version of r without the member id; r is unchanged.
//
// Only the leaver's partitions move, each to a node that owns less than its
// new share (Dynamo §6.2, strategy 3), so if r is balanced the result is too:
// every remaining node owns floor(Q/m) or ceil(Q/m), m being the new member
// count. Among the nodes that may take a partition, one not owning a
// partition in its spread window is preferred, and then a per-partition
// pseudo-random order (rendezvous hashing on node id and partition), so the
// leaver's load spreads over many nodes. The choice depends only on r and id.
//
// Errors: [ErrUnknownNode]; [ErrNoNodes] if id is the last member;
// [ErrVersion].
func (r *Ring) Leave(id NodeID) (*Ring, error) {
	x, ok := r.index(id)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, id)
	}
	if len(r.nodes) == 1 {
		return nil, fmt.Errorf("%w: %q is the last member", ErrNoNodes, id)
	}
	version, err := r.nextVersion()
	if err != nil {
		return nil, err
	}
	seeds := make([]uint64, len(r.nodes))
	for i, n := range r.nodes {
		seeds[i] = idSeed(n.ID)
	}
	owners := slices.Clone(r.owners)
	leave(owners, len(r.nodes), x, seeds)
	for p, o := range owners {
		if int(o) > x {
			owners[p] = o - 1
		}
	}
	nodes := slices.Delete(slices.Clone(r.nodes), x, x+1)
	return build(version, nodes, owners), nil
}

// leave hands leaver x's partitions to the other n-1 node indices, in place;
// seeds[y] is node y's rendezvous seed.
func leave(owners []uint16, n, x int, seeds []uint64) {
	t := newTally(owners, n, n-1, x)
	w := window(n - 1)
	for p, o := range owners {
		if int(o) != x {
			continue
		}
		best, bestApart, bestRank := -1, false, uint64(0)
		for y := range n {
			if y == x || !t.canTake(y) {
				continue
			}
			apart := !near(owners, p, uint16(y), w)
			rank := mix64(seeds[y] ^ uint64(p))
			if best < 0 || (apart && !bestApart) || (apart == bestApart && rank > bestRank) {
				best, bestApart, bestRank = y, apart, rank
			}
		}
		if best < 0 { // only when r was unbalanced
			best = t.least(x)
		}
		owners[p] = uint16(best)
		t.add(best, 1)
	}
}
