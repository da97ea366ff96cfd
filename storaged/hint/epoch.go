package hint

import (
	"encoding/binary"
	"fmt"
	"io"
)

// MintEpoch returns a new epoch for a record's actor (a hint record's, or a
// key's: storaged/replica): a uniformly random nonzero uint64 read from rand
// (crypto/rand.Reader in a node) that differs from avoid (the node's store
// epoch: an actor's epoch is the store epoch XOR this one, so it is never
// 0 and never the store's own). It fails only if rand does.
//
// Why each record has an actor of its own: a dotted version vector set's
// clock claims an actor's events are contiguous (an entry (a, c) means a's
// events 1..c were all seen), so an actor must always hold every event it
// ever issued for a key before it issues the next one, or a later merge would
// take a new event as already seen and drop it. A fallback deletes a record
// once the owner has it, and with it the memory of the events the record's
// actor issued; under a shared actor (the node's own) its next write to that
// key would reuse a counter. So a record mints its own epoch the first time
// it coordinates a write and keeps it as long as it exists, and a record
// created after a deletion mints a fresh one: no counter is issued twice.
// A delivered record with an epoch is retained rather than deleted
// (Record.Retained), so that the next outage reuses its actor instead of
// adding one to the key's clock.
func MintEpoch(rand io.Reader, avoid uint64) (uint64, error) {
	var b [8]byte
	for {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return 0, fmt.Errorf("hint: mint epoch: %w", err)
		}
		if e := binary.BigEndian.Uint64(b[:]); e != 0 && e != avoid {
			return e, nil
		}
	}
}
