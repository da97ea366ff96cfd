package handoff

import "github.com/shoalkv/shoal/ringsync/ring"

// MayDrop reports whether a node that lost its replica of a partition in
// ring version flip may drop its copy: every one of members has seen a
// ring version at or after flip (seen, from gossip; a member missing from
// it has seen nothing). Until then a driver or node on an older ring may
// still read from it or route writes to it. The grace after that (two
// driver ring refreshes) is its shell's timer. No members is false: an
// empty view proves nothing.
func MayDrop(flip uint64, members []ring.NodeID, seen map[ring.NodeID]uint64) bool {
	if len(members) == 0 {
		return false
	}
	for _, id := range members {
		if v, ok := seen[id]; !ok || v < flip {
			return false
		}
	}
	return true
}
