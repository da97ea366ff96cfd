package member

import (
	"fmt"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// ChangeKind is the kind of a staged membership change (Dynamo §4.8: changes
// are explicit administrator actions).
type ChangeKind uint8

// The changes an administrator can stage.
const (
	// Join adds Node, which takes its share of partitions from the others.
	Join ChangeKind = iota + 1
	// Leave takes member ID out after its partitions have moved away.
	Leave
	// Replace gives the new Node exactly member ID's partitions.
	Replace
	// Remove takes member ID out at once, for good: it sends nothing, and
	// its replicas are rebuilt from the other replicas.
	Remove
)

var kindNames = [...]string{"", "join", "leave", "replace", "remove"}

// String returns the kind's lowercase name.
func (k ChangeKind) String() string {
	if k >= Join && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("change(%d)", uint8(k))
}

// Change is one staged membership change.
type Change struct {
	Kind ChangeKind
	// ID is the member that leaves, is removed or is replaced; empty for a
	// join.
	ID ring.NodeID
	// Node is the node that joins, or that replaces ID; zero for a leave or
	// a remove.
	Node ring.Node
}

// String describes the change, e.g. "replace n2 by n5 (10.0.0.5:7000)".
func (c Change) String() string {
	switch c.Kind {
	case Join:
		return fmt.Sprintf("join %s (%s)", c.Node.ID, c.Node.Addr)
	case Replace:
		return fmt.Sprintf("replace %s by %s (%s)", c.ID, c.Node.ID, c.Node.Addr)
	default:
		return fmt.Sprintf("%s %s", c.Kind, c.ID)
	}
}

// check reports whether c is well formed: the fields its kind needs are set
// and the others are zero. Whether it makes sense for a cluster is package
// stage's business.
func (c Change) check() error {
	needID := c.Kind != Join
	needNode := c.Kind == Join || c.Kind == Replace
	switch {
	case c.Kind < Join || c.Kind > Remove:
		return fmt.Errorf("%w: unknown change kind %d", ErrInvalid, c.Kind)
	case needID != (c.ID != ""):
		return fmt.Errorf("%w: %s: member id %q", ErrInvalid, c.Kind, c.ID)
	case needNode != (c.Node != ring.Node{}):
		return fmt.Errorf("%w: %s: node %v", ErrInvalid, c.Kind, c.Node)
	case c.Kind == Replace && c.ID == c.Node.ID:
		return fmt.Errorf("%w: replace %q by itself", ErrInvalid, c.ID)
	}
	if needID {
		if err := checkID(c.ID); err != nil {
			return err
		}
	}
	if needNode {
		return checkAddr(c.Node.ID, c.Node.Addr)
	}
	return nil
}
