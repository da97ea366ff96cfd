package member

import (
	"crypto/sha256"
	"fmt"
)

// Digest summarises a state for gossip (Dynamo §4.8: nodes reconcile their
// views with a random peer every second): two nodes whose digests are equal
// hold the same state, and only on a mismatch do they exchange full states.
type Digest struct {
	// Version is the ring version, which tells the peer whether its ring is
	// older without fetching anything.
	Version uint64
	// Hash is the first 16 bytes of the SHA-256 of the state's encoding.
	Hash [16]byte
}

// Digest returns s's digest. It is stable: equal states have equal digests
// on every machine and in every version of this package that keeps the
// encoding.
func (s *State) Digest() Digest {
	b, err := Encode(s)
	if err != nil {
		panic(fmt.Sprintf("member: encoding a built state: %v", err))
	}
	sum := sha256.Sum256(b)
	d := Digest{Version: s.Version()}
	copy(d.Hash[:], sum[:])
	return d
}
