package driver

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shoalkv/shoal/driver/coord"
	"github.com/shoalkv/shoal/ringsync/ring"
)

var (
	// ErrNotFound: no replica asked holds a live value for the key.
	ErrNotFound = errors.New("driver: not found")
	// ErrUnavailable: too few replicas answered to make a quorum. Every
	// *QuorumError matches it with errors.Is.
	ErrUnavailable = errors.New("driver: not enough replicas available")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("driver: client closed")
	// ErrBadContext: the context passed back is not one this driver made.
	ErrBadContext = errors.New("driver: malformed context")
	// ErrUnknownOutcome: a write failed to reach its quorum after it may
	// already have been applied somewhere (a replica holds it durably, or a
	// request went unanswered). It may become visible later; it may not.
	// Retrying with the same context is safe: at worst the value appears
	// twice as siblings with equal bytes, which reads fold. A *QuorumError
	// with Unknown set matches it; one without is a refused write: no replica
	// applied it.
	ErrUnknownOutcome = errors.New("driver: write outcome unknown")
)

// ReplicaError is one replica's failure within a quorum operation.
type ReplicaError struct {
	Node ring.NodeID
	Err  error
}

// callWide is the Node of a ReplicaError that concerns the whole call (its
// deadline or cancellation), not one replica.
const callWide ring.NodeID = "*"

func (e ReplicaError) Error() string {
	if e.Node == callWide {
		return fmt.Sprintf("the call as a whole: %v", e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Node, e.Err)
}

// QuorumError reports an operation that could not gather enough answers.
// Causes are sorted by node id.
type QuorumError struct {
	Op     string // "get", "put", "delete", "update"
	Needed int
	Acked  int
	// NeededPrimary and AckedPrimary count primaries only (WithPW, WithPR).
	NeededPrimary, AckedPrimary int
	Causes                      []ReplicaError
	// Unknown is set on a write that may have been applied (see
	// ErrUnknownOutcome); false on a write no replica applied, and on reads.
	Unknown bool
}

func (e *QuorumError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "driver: %s: ", e.Op)
	switch short := e.AckedPrimary < e.NeededPrimary; {
	case short && e.Acked < e.Needed:
		fmt.Fprintf(&b, "only %d of %d replicas needed answered, and %d of %d primaries needed", e.Acked, e.Needed, e.AckedPrimary, e.NeededPrimary)
	case short:
		fmt.Fprintf(&b, "only %d of %d primaries needed answered (%d of %d replicas needed did)", e.AckedPrimary, e.NeededPrimary, e.Acked, e.Needed)
	default:
		fmt.Fprintf(&b, "only %d of %d replicas needed answered", e.Acked, e.Needed)
	}
	if e.Unknown {
		b.WriteString("; outcome unknown: the write may have been applied")
	} else if e.Op != "get" {
		b.WriteString("; the write was not applied")
	}
	writeCauses(&b, e.Causes)
	return b.String()
}

// writeCauses appends " (cause; cause...)" to b, or nothing without causes.
func writeCauses(b *strings.Builder, cs []ReplicaError) {
	if len(cs) == 0 {
		return
	}
	b.WriteString(" (")
	for i, c := range cs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.Error())
	}
	b.WriteString(")")
}

// Is makes every QuorumError match ErrUnavailable, and one with Unknown set
// match ErrUnknownOutcome too.
func (e *QuorumError) Is(target error) bool {
	return target == ErrUnavailable || (e.Unknown && target == ErrUnknownOutcome)
}

// quorumError is the QuorumError of op that coord's description of a
// failure stands for: its causes as ReplicaErrors, the caller's end (if it
// decided the failure) as the call-wide one, sorted by node.
func quorumError(op string, f coord.Failure) *QuorumError {
	var causes []ReplicaError
	if n := len(f.Causes); n > 0 || f.Ended != nil {
		causes = make([]ReplicaError, n, n+1)
		for i, c := range f.Causes {
			causes[i] = ReplicaError{Node: c.Node, Err: c.Err}
		}
		if f.Ended != nil {
			causes = append(causes, ReplicaError{Node: callWide, Err: f.Ended})
		}
	}
	return &QuorumError{Op: op, Needed: f.Needed, Acked: f.Acked, NeededPrimary: f.NeededPrimary,
		AckedPrimary: f.AckedPrimary, Causes: sortCauses(causes), Unknown: f.Unknown}
}

// Unwrap exposes the per-replica causes to errors.Is and errors.As.
func (e *QuorumError) Unwrap() []error {
	errs := make([]error, len(e.Causes))
	for i, c := range e.Causes {
		errs[i] = c.Err
	}
	return errs
}
