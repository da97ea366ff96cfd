package ring

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors of [Ring.Replace] and [Ring.Toward]; match them with errors.Is.
var (
	ErrMismatch  = errors.New("ring: rings of different partition counts")
	ErrPartition = errors.New("ring: partition out of range")
)

// Replace returns the next version of r in which n owns exactly the
// partitions old owned, and old is no longer a member; r is unchanged. No
// other partition changes owner, so the replica sets change only by n taking
// old's place in them: the least a replacement can move.
//
// Errors: [ErrUnknownNode] if old is not a member; [ErrInvalidNode];
// [ErrDuplicateNode] if n.ID is already a member; [ErrVersion].
func (r *Ring) Replace(old NodeID, n Node) (*Ring, error) {
	x, ok := r.index(old)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, old)
	}
	if err := validateNode(n); err != nil {
		return nil, err
	}
	if _, found := r.index(n.ID); found {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateNode, n.ID)
	}
	version, err := r.nextVersion()
	if err != nil {
		return nil, err
	}
	ids := r.ownerIDs()
	for p, o := range r.owners {
		if int(o) == x {
			ids[p] = n.ID
		}
	}
	nodes := slices.Delete(slices.Clone(r.nodes), x, x+1)
	i, _ := slices.BinarySearchFunc(nodes, n.ID, cmpNodeID)
	nodes = slices.Insert(nodes, i, n)
	return fromOwners(version, nodes, ids), nil
}

// Toward returns the next version of r in which each partition in ps is owned
// as it is in target, and every other partition as in r; r and target are
// unchanged. With no partitions it is the next version of r with the same
// ownership. It is the step by which a cluster moves from its current ring to
// a planned one a few partitions at a time, as their data arrives.
//
// The members are the nodes that own a partition in the result, each with its
// address in r if it is a member of r, else its address in target.
//
// Errors: [ErrMismatch] if the rings differ in partition count;
// [ErrPartition] for a partition outside [0, Partitions()); [ErrVersion].
func (r *Ring) Toward(target *Ring, ps []int) (*Ring, error) {
	if len(target.owners) != len(r.owners) {
		return nil, fmt.Errorf("%w: %d and %d", ErrMismatch, len(r.owners), len(target.owners))
	}
	version, err := r.nextVersion()
	if err != nil {
		return nil, err
	}
	ids := r.ownerIDs()
	for _, p := range ps {
		if p < 0 || p >= len(ids) {
			return nil, fmt.Errorf("%w: %d not in [0, %d)", ErrPartition, p, len(ids))
		}
		ids[p] = target.Owner(p)
	}
	var nodes []Node
	for _, id := range ids {
		if _, dup := slices.BinarySearchFunc(nodes, id, cmpNodeID); dup {
			continue
		}
		n, ok := r.Node(id)
		if !ok {
			n, _ = target.Node(id)
		}
		i, _ := slices.BinarySearchFunc(nodes, id, cmpNodeID)
		nodes = slices.Insert(nodes, i, n)
	}
	return fromOwners(version, nodes, ids), nil
}

// ownerIDs returns each partition's owner id.
func (r *Ring) ownerIDs() []NodeID {
	ids := make([]NodeID, len(r.owners))
	for p, o := range r.owners {
		ids[p] = r.nodes[o].ID
	}
	return ids
}

// fromOwners builds a ring from sorted, unique nodes and each partition's
// owner id, every id being one of the nodes and every node owning one.
func fromOwners(version uint64, nodes []Node, ids []NodeID) *Ring {
	owners := make([]uint16, len(ids))
	for p, id := range ids {
		i, ok := slices.BinarySearchFunc(nodes, id, cmpNodeID)
		if !ok {
			panic(fmt.Sprintf("ring: owner %q is not a member", id))
		}
		owners[p] = uint16(i)
	}
	return build(version, nodes, owners)
}

// cmpNodeID orders a node against an id, for binary search by id.
func cmpNodeID(n Node, id NodeID) int { return strings.Compare(string(n.ID), string(id)) }
