package member

import "fmt"

// Status is where a node stands in the cluster. The claimant sets it; it
// changes only with a new ring version.
type Status uint8

// The statuses, in the order a node normally passes through them.
const (
	// None: not a member. The node is known only by the [Record] it
	// announced, waiting to be staged for a join. It is the zero value.
	None Status = iota
	// Joining: committed to join; it receives its partitions' data and owns
	// them as the transfers end.
	Joining
	// Valid: a full member that owns and serves partitions.
	Valid
	// Leaving: committed to leave; it serves what it owns while its data
	// moves to the new owners.
	Leaving
	// Exiting: it owns nothing any more and may stop once it has seen so.
	Exiting
	// Removed: gone for good, by a completed leave or by a remove (its
	// replicas then rebuilt from the others). It stays listed so that its
	// old record cannot bring it back.
	Removed
)

var statusNames = [...]string{"none", "joining", "valid", "leaving", "exiting", "removed"}

// String returns the status's lowercase name.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// valid reports whether s is one of the defined statuses.
func (s Status) valid() bool { return int(s) < len(statusNames) }

// confirms reports whether a member of this status must have seen the
// current ring version for the cluster to be ready (riak_core's ring_ready
// counts valid, leaving and exiting members; joining ones do not own yet).
func (s Status) confirms() bool { return s == Valid || s == Leaving || s == Exiting }
