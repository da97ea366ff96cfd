package swim

import (
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// State is what a node believes of a member. The values are ordered: at
// equal incarnations a later state overrides an earlier one (see Update).
type State uint8

const (
	// Alive: the member answers probes, or nothing says otherwise.
	Alive State = iota + 1
	// Suspect: a probe went unanswered; the member is dead unless it
	// refutes before the suspicion times out.
	Suspect
	// Dead: a suspicion timed out.
	Dead
	// Left: the member said it was leaving. Final for that incarnation,
	// and distinct from Dead: nothing went wrong.
	Left
)

func (s State) String() string {
	switch s {
	case Alive:
		return "alive"
	case Suspect:
		return "suspect"
	case Dead:
		return "dead"
	case Left:
		return "left"
	}
	return "invalid"
}

// Member is one member as a node sees it.
type Member struct {
	ID ring.NodeID
	// Incarnation is the member's own counter, raised only by the member
	// itself (to refute a suspicion, or when it leaves).
	Incarnation uint64
	State       State
	// Since is when this node last saw State change.
	Since time.Time
}

// Update is one piece of gossip: that Node is in State at Incarnation. From
// is the member that made the claim (the suspecter of a suspicion, counted
// once among the confirmations); it is informational for other states.
type Update struct {
	Node        ring.NodeID
	Incarnation uint64
	State       State
	From        ring.NodeID
}

// Overrides reports whether u supersedes a member at incarnation inc in
// state s: updates are ordered by incarnation, then by state (alive <
// suspect < dead < left). So at an equal incarnation a suspicion beats
// alive, dead beats both and a leave beats everything, while any claim at a
// higher incarnation beats every claim at a lower one: the member's own
// refutation (alive at inc+1) beats the suspicion and the dead declaration
// it refutes. Merging by this total order is commutative, associative and
// idempotent, so members converge whatever order updates arrive in.
func (u Update) Overrides(inc uint64, s State) bool {
	if u.Incarnation != inc {
		return u.Incarnation > inc
	}
	return u.State > s
}

// valid reports whether u could have been sent by a correct node.
func (u Update) valid() bool {
	return u.Node != "" && u.State >= Alive && u.State <= Left && len(u.Node) <= ring.MaxIDLen && len(u.From) <= ring.MaxIDLen
}

// member is a node's record of one other member.
type member struct {
	id    ring.NodeID
	inc   uint64
	state State
	since time.Time
	susp  *suspicion // non-nil while state == Suspect
}

// probeable reports whether m is probed (and asked to probe for others).
func (m *member) probeable() bool {
	return m.state == Alive || m.state == Suspect
}
