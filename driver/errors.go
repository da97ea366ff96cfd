package driver

import (
	"errors"
	"fmt"
	"strings"

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
)

// ReplicaError is one replica's failure within a quorum operation.
type ReplicaError struct {
	Node ring.NodeID
	Err  error
}

func (e ReplicaError) Error() string { return fmt.Sprintf("%s: %v", e.Node, e.Err) }

// QuorumError reports an operation that could not gather enough answers.
// Causes are sorted by node id.
type QuorumError struct {
	Op     string // "get", "put", "delete"
	Needed int
	Acked  int
	Causes []ReplicaError
}

func (e *QuorumError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "driver: %s: %d of %d replicas needed answered", e.Op, e.Acked, e.Needed)
	if len(e.Causes) > 0 {
		b.WriteString(" (")
		for i, c := range e.Causes {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(c.Error())
		}
		b.WriteString(")")
	}
	return b.String()
}

// Is makes every QuorumError match ErrUnavailable.
func (e *QuorumError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap exposes the per-replica causes to errors.Is and errors.As.
func (e *QuorumError) Unwrap() []error {
	errs := make([]error, len(e.Causes))
	for i, c := range e.Causes {
		errs[i] = c.Err
	}
	return errs
}
