package ring

import "fmt"

// Join returns the next version of r with n added as a member; r is unchanged.
//
// The newcomer takes floor(Q/m) partitions, m being the new member count,
// from the nodes that own more than their new share, and no other partition
// moves (Dynamo §6.2, strategy 3: a joining node takes partitions from the
// others, so only about Q/m partitions change hands). If r is balanced the
// result is too: every node owns floor(Q/m) or ceil(Q/m). The newcomer's
// partitions are picked near evenly spaced points around the ring, out of
// each other's spread window and, where possible, where they break up two
// nearby partitions of one owner, so its load and its replicas' load are
// spread over the whole ring. The choice depends only on r and n.
//
// Errors: [ErrInvalidNode]; [ErrDuplicateNode] if n.ID is already a member;
// [ErrTooManyNodes] beyond min(Q, MaxNodes) members; [ErrVersion].
func (r *Ring) Join(n Node) (*Ring, error) {
	if err := validateNode(n); err != nil {
		return nil, err
	}
	pos, found := r.index(n.ID)
	if found {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateNode, n.ID)
	}
	q := len(r.owners)
	if len(r.nodes)+1 > maxNodes(q) {
		return nil, fmt.Errorf("%w: %d members, at most %d for %d partitions", ErrTooManyNodes, len(r.nodes)+1, maxNodes(q), q)
	}
	version, err := r.nextVersion()
	if err != nil {
		return nil, err
	}
	nodes := make([]Node, 0, len(r.nodes)+1)
	nodes = append(append(append(nodes, r.nodes[:pos]...), n), r.nodes[pos:]...)
	owners := make([]uint16, q)
	for p, o := range r.owners {
		if int(o) >= pos {
			o++
		}
		owners[p] = o
	}
	join(owners, len(nodes), uint16(pos), idSeed(n.ID))
	return build(version, nodes, owners), nil
}

// join gives newcomer x (owning nothing yet) its share of owners, over n node
// indices including x, in place.
func join(owners []uint16, n int, x uint16, seed uint64) {
	q := len(owners)
	t := newTally(owners, n, n, -1)
	w := window(n)
	take := func(p int) {
		t.add(int(owners[p]), -1)
		t.add(int(x), 1)
		owners[p] = x
	}
	fits := func(p int, apart bool) bool {
		y := owners[p]
		return y != x && t.canGive(int(y)) && (!apart || !near(owners, p, x, w))
	}
	// A partition whose owner also owns one within its spread window is the
	// best to take: taking it repairs the window.
	repairs := func(p int) bool { return fits(p, true) && near(owners, p, owners[p], w) }
	// Aim at share evenly spaced points from a seeded offset, taking a nearby
	// partition that repairs a window, else the closest that a loaded node
	// can give.
	share := t.f
	spacing := q / share
	off := uint64(seed % uint64(spacing))
	for k := range share {
		at := int((off + uint64(k)*uint64(q)/uint64(share)) % uint64(q))
		p, ok := nearest(q, at, spacing/2, repairs)
		if !ok {
			p, ok = nearest(q, at, spacing, func(p int) bool { return fits(p, true) })
		}
		if ok {
			take(p)
		}
	}
	// Fill what the points missed: first keeping the newcomer's partitions
	// apart, then not.
	for _, apart := range []bool{true, false} {
		for p := 0; p < q && t.loads[x] < share; p++ {
			if fits(p, apart) {
				take(p)
			}
		}
	}
	// Only an unbalanced ring gets here (a balanced one always has a node that
	// can give): take from the most loaded.
	for t.loads[x] < share {
		y := uint16(t.most(int(x)))
		for p := range owners {
			if owners[p] == y {
				take(p)
				break
			}
		}
	}
}
