package ring

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync/atomic"
)

// NodeID names a storage node. It is stable across restarts of the node and
// unique within a cluster.
type NodeID string

// Node is a member of the ring.
type Node struct {
	// ID is the node's identity: 1 to MaxIDLen bytes of valid UTF-8.
	ID NodeID
	// Addr is the node's "host:port" address (UDP, QUIC): a non-empty host and
	// a decimal port in [1, 65535], at most MaxAddrLen bytes.
	Addr string
}

// DefaultPartitions is the partition count Q used when a cluster does not
// choose one.
//
// Q is fixed for the life of a cluster (changing it moves every key), so it is
// chosen for the largest cluster the system targets: hundreds of nodes. Rings
// built here give every node floor(Q/n) or ceil(Q/n) partitions, so the most
// loaded node owns at most n/Q more than the mean in relative terms; 4096 keeps
// that within 10% up to 409 nodes, where 1024 would only manage 102. The price
// is modest: the wire form carries one owner index per partition (1 byte each
// below 128 nodes, 2 below 256, 3 beyond: 4 to 12 KiB, fetched once per ring
// version), and per-partition bookkeeping on a storage node (Merkle trees,
// handoff) scales with Q/n, which stays in the tens.
const DefaultPartitions = 4096

// Limits on what a ring may hold; [New], [Ring.Join] and [Decode] enforce them.
const (
	// MinPartitions and MaxPartitions bound Q, which must also be a power of two.
	MinPartitions = 8
	MaxPartitions = 65536
	// MaxNodes bounds the member count (a ring also never has more nodes than
	// partitions, so every member owns at least one).
	MaxNodes = 4096
	// MaxIDLen and MaxAddrLen bound a node's id and address, in bytes.
	MaxIDLen   = 255
	MaxAddrLen = 255
)

// Errors returned by this package; match them with errors.Is. Returned errors
// wrap these with details.
var (
	ErrPartitions    = errors.New("ring: partition count must be a power of two in [8, 65536]")
	ErrNoNodes       = errors.New("ring: no nodes")
	ErrTooManyNodes  = errors.New("ring: too many nodes")
	ErrDuplicateNode = errors.New("ring: duplicate node id")
	ErrInvalidNode   = errors.New("ring: invalid node")
	ErrUnknownNode   = errors.New("ring: unknown node")
	ErrVersion       = errors.New("ring: version exhausted")
	ErrMalformed     = errors.New("ring: malformed encoding")
)

// Ring assigns each of Q fixed partitions to a node.
//
// A Ring is immutable once built and safe for concurrent use. The zero Ring is
// not usable: build one with [New], [Ring.Join], [Ring.Leave] or [Decode].
type Ring struct {
	version uint64
	shift   uint                       // 64 - log2(Q): a key hash's top bits name its partition
	nodes   []Node                     // sorted by ID, unique, each owning at least one partition
	owners  []uint16                   // owners[p] indexes nodes
	walks   []atomic.Pointer[[]uint16] // lazy per-partition walk orders; nil when over budget
}

// New builds version 1 of a ring of q partitions over nodes.
//
// The assignment is balanced (every node owns floor(q/n) or ceil(q/n)
// partitions) and deterministic: it depends only on q and the set of nodes,
// not on their order in the slice. Partitions are dealt in rounds, each a
// permutation of the nodes seeded from the inputs, so consecutive partitions
// have different owners and each node's partitions are followed by varying
// nodes: a walk finds N distinct replicas within a few steps, and a dead
// node's load spreads over many others. New does not keep nodes.
//
// Errors: [ErrPartitions] unless q is a power of two in [MinPartitions,
// MaxPartitions]; [ErrNoNodes]; [ErrTooManyNodes] beyond min(q, MaxNodes)
// nodes; [ErrInvalidNode]; [ErrDuplicateNode].
func New(q int, nodes []Node) (*Ring, error) {
	if err := checkPartitions(q); err != nil {
		return nil, err
	}
	sorted, err := sortNodes(q, nodes)
	if err != nil {
		return nil, err
	}
	return build(1, sorted, assignNew(q, len(sorted), seedOf(q, sorted))), nil
}

// build makes a ring from parts the caller has validated.
func build(version uint64, nodes []Node, owners []uint16) *Ring {
	r := &Ring{
		version: version,
		shift:   uint(64 - bits.TrailingZeros(uint(len(owners)))),
		nodes:   nodes,
		owners:  owners,
	}
	if len(owners)*len(nodes)*2 <= walkCacheBudget {
		r.walks = make([]atomic.Pointer[[]uint16], len(owners))
	}
	return r
}

// checkPartitions reports whether q is a valid partition count.
func checkPartitions(q int) error {
	if q < MinPartitions || q > MaxPartitions || q&(q-1) != 0 {
		return fmt.Errorf("%w: got %d", ErrPartitions, q)
	}
	return nil
}

// maxNodes is the most members a ring of q partitions may have.
func maxNodes(q int) int { return min(q, MaxNodes) }

// sortNodes validates nodes and returns a sorted copy.
func sortNodes(q int, nodes []Node) ([]Node, error) {
	if len(nodes) == 0 {
		return nil, ErrNoNodes
	}
	if len(nodes) > maxNodes(q) {
		return nil, fmt.Errorf("%w: %d nodes, at most %d for %d partitions", ErrTooManyNodes, len(nodes), maxNodes(q), q)
	}
	for _, n := range nodes {
		if err := validateNode(n); err != nil {
			return nil, err
		}
	}
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b Node) int { return strings.Compare(string(a.ID), string(b.ID)) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].ID == sorted[i-1].ID {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateNode, sorted[i].ID)
		}
	}
	return sorted, nil
}

// Version is the ring's version: 1 from [New], one more after each change.
// A higher version is a newer view of the same cluster.
func (r *Ring) Version() uint64 { return r.version }

// Partitions is Q, the number of partitions.
func (r *Ring) Partitions() int { return len(r.owners) }

// Nodes returns the members sorted by ID. The slice is shared with the ring:
// the caller must not modify it.
func (r *Ring) Nodes() []Node { return r.nodes }

// Node returns the member with the given id, if any.
func (r *Ring) Node(id NodeID) (Node, bool) {
	i, ok := r.index(id)
	if !ok {
		return Node{}, false
	}
	return r.nodes[i], true
}

// index finds id in the sorted member list.
func (r *Ring) index(id NodeID) (int, bool) {
	return slices.BinarySearchFunc(r.nodes, id, func(n Node, id NodeID) int {
		return strings.Compare(string(n.ID), string(id))
	})
}

// Owner returns the id of the node that owns partition p. It panics unless
// 0 <= p < Partitions().
func (r *Ring) Owner(p int) NodeID {
	r.checkPartition(p)
	return r.nodes[r.owners[p]].ID
}

// OwnedBy returns, in increasing order, the partitions owned by id; none if id
// is not a member. The caller owns the returned slice.
func (r *Ring) OwnedBy(id NodeID) []int {
	i, ok := r.index(id)
	if !ok {
		return nil
	}
	var ps []int
	for p, o := range r.owners {
		if int(o) == i {
			ps = append(ps, p)
		}
	}
	return ps
}

// Moves returns the number of partitions whose owner differs between r and
// to: the partitions a change from r to to hands off. Rings with different
// partition counts share no partitions, so then every partition of to counts.
func (r *Ring) Moves(to *Ring) int {
	if len(r.owners) != len(to.owners) {
		return len(to.owners)
	}
	moved := 0
	for p, o := range r.owners {
		if r.nodes[o].ID != to.nodes[to.owners[p]].ID {
			moved++
		}
	}
	return moved
}

// Equal reports whether r and o have the same version, members (ids and
// addresses) and ownership.
func (r *Ring) Equal(o *Ring) bool {
	return r.version == o.version && slices.Equal(r.nodes, o.nodes) && slices.Equal(r.owners, o.owners)
}

// checkPartition panics if p is not a partition of r: partitions come from
// PartitionOf or a loop over Partitions, so anything else is a caller bug.
func (r *Ring) checkPartition(p int) {
	if p < 0 || p >= len(r.owners) {
		panic(fmt.Sprintf("ring: partition %d out of range [0, %d)", p, len(r.owners)))
	}
}

// nextVersion is the version of a ring derived from r.
func (r *Ring) nextVersion() (uint64, error) {
	if r.version == math.MaxUint64 {
		return 0, ErrVersion
	}
	return r.version + 1, nil
}
