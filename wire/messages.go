package wire

import (
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire/dvv"
)

// ProtocolVersion is checked when a connection opens (with ALPN shoal/1). A
// node answers a Hello of another version with CodeMismatch.
const ProtocolVersion = 1

// ALPN is the TLS application protocol both sides require.
const ALPN = "shoal/1"

// Hello is the first request on every connection.
type Hello struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Version   uint32
	ClusterID string
}

// HelloOK answers a matching Hello.
type HelloOK struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Version   uint32
	ClusterID string
	Node      ring.NodeID // the answering node's id
}

// Error is the body of a TypeError answer.
type Error struct {
	_msgpack struct{} `msgpack:",as_array"`
	Code     Code
	Message  string
}

func (e *Error) Error() string { return (&RemoteError{Code: e.Code, Message: e.Message}).Error() }

// Coordinate asks a node to record a new write of Key: the node assigns the
// event's dot under its own actor, merges it over what it holds using the
// client's causal Context, persists the result and answers with it (Object).
//
// HintFor, when set, names the primary this write is really meant for: the
// receiver is a fallback (sloppy quorum, paper §4.6) and records the write in
// its hint store for that owner, under an actor of the hint record's own, so
// that a hint delivered and deleted can never make it reuse a dot.
type Coordinate struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Key       []byte
	Value     []byte
	Tombstone bool
	Context   dvv.VV
	HintFor   ring.NodeID
}

// Object answers Coordinate with the object the node now durably holds.
type Object struct {
	_msgpack struct{} `msgpack:",as_array"`
	Object   dvv.Set
}

// Replicate asks a node to merge Object into what it holds for Key and persist
// it. Merging is a DVV sync: it never overwrites a concurrent value. HintFor,
// when set, names the primary this copy is really meant for (sloppy quorum).
type Replicate struct {
	_msgpack struct{} `msgpack:",as_array"`
	Key      []byte
	Object   dvv.Set
	HintFor  ring.NodeID
}

// Ack is an empty success answer.
type Ack struct {
	_msgpack struct{} `msgpack:",as_array"`
}

// Get asks for a node's copy of Key.
type Get struct {
	_msgpack struct{} `msgpack:",as_array"`
	Key      []byte
}

// GetOK answers Get; Found is false when the node holds nothing for the key.
type GetOK struct {
	_msgpack struct{} `msgpack:",as_array"`
	Found    bool
	Object   dvv.Set
}

// RingReq asks for the node's current ring.
type RingReq struct {
	_msgpack struct{} `msgpack:",as_array"`
}

// RingOK carries a ring.
type RingOK struct {
	_msgpack struct{} `msgpack:",as_array"`
	Ring     *ring.Ring
}

// StatusReq asks a node to describe itself.
type StatusReq struct {
	_msgpack struct{} `msgpack:",as_array"`
}

// StatusOK describes a node.
type StatusOK struct {
	_msgpack    struct{} `msgpack:",as_array"`
	Node        ring.NodeID
	Addr        string
	Epoch       uint64
	RingVersion uint64
	Objects     uint64
	Hints       uint64
	UptimeMS    uint64
	Commits     uint64 // durable transactions since start
	Writes      uint64 // writes those transactions carried
	// HintOwners lists the pending hints per intended owner, sorted by owner.
	HintOwners []HintOwner
	// HintsDelivered and HintsRefused count since start: hint records the
	// owner durably acknowledged (and this node then deleted), and hinted
	// writes refused by a cap or the hint window.
	HintsDelivered uint64
	HintsRefused   uint64
	// HintsKept counts the hint records this node holds that it no longer
	// tries to deliver: their owner refused them for good (it holds other
	// limits, or finds them malformed) or they cannot be decoded. They stay
	// on disk for an operator and count toward no backlog (so not toward the
	// hint window); a write that changes one makes it deliverable again, as
	// does a restart.
	HintsKept uint64
	// HintsCorrected counts, since start, the complete delivery sweeps that
	// found an owner's hint backlog wrong (records counted that are not on
	// disk) and corrected it. The accounts are kept exact, so anything but
	// 0 is a bug worth reporting.
	HintsCorrected uint64
	// Transport is the node's connection admission, cut-offs and memory
	// budget (wire.Stats).
	Transport Stats
	// Refusals since start of writes and calls for what they carried: a
	// relayed object with other bytes under a dot this node holds
	// (corruption or forgery), a context or object claiming this node's
	// dots beyond what it issued, a node-only call from a non-member's
	// certificate, and a write whose result would break a limit.
	RefusedConflict, RefusedClaim, RefusedNonMember, RefusedLimit uint64
	// CorruptReads counts reads, since start, that found a stored record
	// failing its checksum (served as missing); CorruptRecords the distinct
	// records. Quarantined is where a data file that failed its open check
	// was moved at this start ("" if none).
	CorruptReads, CorruptRecords uint64
	Quarantined                  string
	// Trees counts the partitions this node keeps a hash tree for (those
	// holding objects here). TreeKeys is how many objects the rebuild at
	// start hashed, and TreeRebuildMS how long it took. TreeMismatches
	// counts, since start, the trees a verify found differing from a
	// rebuild from the store (and replaced): anything but 0 is a bug or disk
	// damage worth reporting.
	Trees, TreeKeys, TreeRebuildMS, TreeMismatches uint64
	// Anti-entropy since start, scheduled cycles and on-demand repairs
	// together: AEPartitions counts the exchanges (one partition with one
	// peer) that ran to the end, AEKeysRepaired the keys they repaired
	// (fetched and merged here, or pushed to the peer), AELastCycleMS how
	// long the last complete cycle over every partition this node
	// replicates took (a scheduled one, or a repair of every partition; 0:
	// none yet), and AEFailed the exchanges that failed or were skipped
	// because their peer had failed earlier in the cycle or repair.
	AEPartitions, AEKeysRepaired, AELastCycleMS, AEFailed uint64
	// TreesRebuilding counts the partitions whose hash tree the rebuild at
	// start, which runs while the node serves, has not installed yet
	// (their exchanges wait for it); TreeKeys and TreeRebuildMS are set
	// when it ends.
	TreesRebuilding uint64
	// Repair is the node's latest on-demand repair, running or done (ID 0:
	// none since start).
	Repair RepairProgress
	// HintsRetained counts the hint records this node keeps after
	// delivering them, for their actor (storaged/hint Record.Retained: it
	// coordinated writes in them while no primary was live), and
	// HintsRetainedBytes their encoded size. They are not in Hints.
	HintsRetained, HintsRetainedBytes uint64
	// Cluster is the digest of the cluster state this node keeps and
	// gossips (ringsync/member), ClusterMembers the members its claim lists
	// and ClusterRecords the nodes that announced a record. GossipRounds
	// counts, since start, the gossip rounds this node began that ended,
	// GossipFailed those that failed (the peer unreachable or refusing),
	// and GossipRefused the states it refused to merge, sent or received:
	// of another cluster id, or conflicting with its own (member.ErrCluster,
	// member.ErrConflict); anything but 0 there wants an operator.
	Cluster                                   GossipDigest
	ClusterMembers, ClusterRecords            uint64
	GossipRounds, GossipFailed, GossipRefused uint64
	// Swim is this node's failure detector's view of every member, itself
	// included, sorted by node (empty: the detector is off), and SwimHealth
	// its local-health multiplier (1: healthy; higher: it probes slower
	// and waits longer, finding itself slow).
	Swim       []SwimMember
	SwimHealth uint64
}

// SwimMember is what a node's failure detector believes of one member.
type SwimMember struct {
	_msgpack    struct{} `msgpack:",as_array"`
	Node        ring.NodeID
	State       string // alive, suspect, dead or left
	Incarnation uint64
	// SinceMS is when the node last saw State change (unix milliseconds;
	// 0 for itself).
	SinceMS int64
}

// HintOwner is the hint backlog this node holds for one other node.
type HintOwner struct {
	_msgpack struct{} `msgpack:",as_array"`
	Owner    ring.NodeID
	Keys     uint64 // hint records (one per key)
	Bytes    uint64 // their encoded size
	OldestMS int64  // unix milliseconds of the oldest pending hint
}

// Handoff moves one object from node to node (hint delivery, partition
// handoff). Only node certificates may send it.
type Handoff struct {
	_msgpack struct{} `msgpack:",as_array"`
	Key      []byte
	Object   dvv.Set
}
