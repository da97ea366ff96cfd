package member

import (
	"fmt"
	"unicode/utf8"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Limits on what a state may hold; every constructor and [Decode] enforce
// them, so a state read from a peer is as bounded as one built here.
const (
	// MaxMembers bounds the claim's member entries and the node records. A
	// removed member stays listed, so this counts everyone a cluster ever
	// had; it is the ring's own node limit.
	MaxMembers = ring.MaxNodes
	// MaxStaged bounds the staged changes.
	MaxStaged = 64
	// MaxTransfers bounds the pending transfers: four replicas of every
	// partition of the largest ring.
	MaxTransfers = 4 * ring.MaxPartitions
	// MaxClusterIDLen bounds a cluster id, in bytes.
	MaxClusterIDLen = 255
)

// checkID reports whether id is a node id the ring would accept: 1 to
// ring.MaxIDLen bytes of valid UTF-8.
func checkID(id ring.NodeID) error {
	if id == "" || len(id) > ring.MaxIDLen || !utf8.ValidString(string(id)) {
		return fmt.Errorf("%w: node id %q", ErrInvalid, id)
	}
	return nil
}

// checkAddr reports whether id is valid and addr a non-empty address of at
// most ring.MaxAddrLen bytes (the ring checks its form when a node joins it).
func checkAddr(id ring.NodeID, addr string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if addr == "" || len(addr) > ring.MaxAddrLen {
		return fmt.Errorf("%w: %q: address of %d bytes", ErrInvalid, id, len(addr))
	}
	return nil
}

// checkCluster reports whether c is a valid cluster id.
func checkCluster(c ClusterID) error {
	if c == "" || len(c) > MaxClusterIDLen || !utf8.ValidString(string(c)) {
		return fmt.Errorf("%w: cluster id %q", ErrInvalid, c)
	}
	return nil
}
