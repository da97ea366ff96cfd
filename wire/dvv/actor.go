package dvv

import (
	"cmp"
	"fmt"
	"strings"
)

// Actor identifies a server node incarnation: the node id plus an epoch that
// changes whenever the node starts without its old state, so that a node
// whose data was lost never reissues a dot it issued before (DESIGN.md §3).
//
// The zero Actor is not valid: Node must be non-empty and at most
// MaxActorNode bytes.
type Actor struct {
	Node  string
	Epoch uint64
}

// Compare orders actors by Node (bytewise) and then by Epoch. It returns -1,
// 0 or +1.
func (a Actor) Compare(b Actor) int {
	if c := strings.Compare(a.Node, b.Node); c != 0 {
		return c
	}
	return cmp.Compare(a.Epoch, b.Epoch)
}

// String returns the node id, a dot, and the epoch as 16 hex digits, for
// example "n1.00000000075bcd15".
func (a Actor) String() string {
	return fmt.Sprintf("%s.%016x", a.Node, a.Epoch)
}

// Validate reports whether a can appear in a version vector or a dot: its
// node id is non-empty and at most MaxActorNode bytes. Errors wrap
// ErrInvalid.
func (a Actor) Validate() error {
	if p := a.problem(); p != "" {
		return invalidf("actor %q: %s", a.Node, p)
	}
	return nil
}

// problem describes what makes a invalid, or returns "".
func (a Actor) problem() string {
	switch {
	case a.Node == "":
		return "empty node id"
	case len(a.Node) > MaxActorNode:
		return "node id longer than MaxActorNode"
	}
	return ""
}
