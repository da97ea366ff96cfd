package coord

import (
	"fmt"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire/dvv"
)

// SendID names one send of a machine; its answer quotes it. Ids are unique
// within their machine and never zero, so the zero SendID names no send.
type SendID uint32

// Kind is the request a send makes.
type Kind uint8

const (
	_ Kind = iota // no request
	// Coordinate asks the node to coordinate a write (wire.Coordinate):
	// assign the new version's dot, merge it with what the node holds, store
	// durably, and answer with the resulting object.
	Coordinate
	// Replicate sends the coordinator's object (wire.Replicate), which the
	// node merges with what it holds and stores durably.
	Replicate
	// Get asks for the node's copy of the key (wire.Get).
	Get
)

var kindNames = [...]string{Coordinate: "coordinate", Replicate: "replicate", Get: "get"}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Send is a request a machine wants made: Kind to To.Node, naming
// To.HintFor as the copy's owner when the node stands in for a primary.
type Send struct {
	ID   SendID
	Kind Kind
	To   Target
}

// Answer is how a send ended. Err nil is a success: Object is then the
// coordinator's stored object (Coordinate) or, when Found, the node's copy
// (Get); a Replicate's success carries nothing. Otherwise Err is what the
// call returned (an error answer, a transport failure, a context's error)
// and wire.ClassOf says what it means for the request.
type Answer struct {
	Err    error
	Found  bool
	Object dvv.Set
}

// Cause is one replica's failure within a request: the node asked and the
// error its send ended with.
type Cause struct {
	Node ring.NodeID
	Err  error
}

// Verdict is a request's outcome.
type Verdict uint8

const (
	// Pending: not decided yet (the zero value).
	Pending Verdict = iota
	// Succeeded: the quorum was gathered.
	Succeeded
	// Refused (writes only): a node refused the write in a way every node
	// would (wire.Class.Final) before any attempt may have applied it. No
	// replica holds the write.
	Refused
	// Failed: the quorum was not gathered; a Failure says how it fell
	// short.
	Failed
)

var verdictNames = [...]string{Pending: "pending", Succeeded: "succeeded", Refused: "refused", Failed: "failed"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// Failure describes a request that did not gather its quorum: the fields
// of the driver's QuorumError.
type Failure struct {
	// Needed and Acked count answers (acknowledgements) in all,
	// NeededPrimary and AckedPrimary those from primaries. A write that
	// found no coordinator reports Needed alone: nothing was acknowledged.
	Needed, Acked               int
	NeededPrimary, AckedPrimary int
	// Causes are the replicas' failures in the order the machine recorded
	// them (a replication slot's when the slot gave up). The slice belongs
	// to the machine, which does not change it once the result is decided.
	Causes []Cause
	// Ended is the cause given to Abandon when the caller's end decided
	// the failure (a context's error); nil otherwise.
	Ended error
	// Unknown is set on a write that may have been applied: always once a
	// coordinator accepted it (it holds the write durably, which may yet
	// spread), and before that when an attempt's failure says it may have
	// applied the write (wire.Class.MayHaveApplied). Never on reads.
	Unknown bool
}
