package member

import "github.com/shoalkv/shoal/ringsync/ring"

// Ready reports whether every valid, leaving and exiting member has durably
// applied the current ring version: its record's Seen equals it (riak_core's
// ring_ready). Joining and removed members do not count. Only a ready
// cluster may commit a change, so two sides of a network split, which cannot
// both hear from every member, cannot both commit.
func Ready(s *State) bool { return len(Unready(s)) == 0 }

// Unready returns, sorted by id, the members that keep s from being ready:
// valid, leaving or exiting members whose Seen differs from the ring version
// (or who have announced no record).
func Unready(s *State) []ring.NodeID {
	var ids []ring.NodeID
	for _, e := range s.claim.Members {
		if !e.Status.confirms() {
			continue
		}
		if r, ok := s.Record(e.ID); !ok || r.Seen != s.Version() {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// Claimant returns the member that decides changes: the valid member with
// the lowest id. It is recomputed from the state wherever needed, never
// elected, so every node with the same claim names the same claimant. ok is
// false if there is no valid member.
func Claimant(s *State) (id ring.NodeID, ok bool) {
	for _, e := range s.claim.Members { // sorted by id
		if e.Status == Valid {
			return e.ID, true
		}
	}
	return "", false
}
