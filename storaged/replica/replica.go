// Package replica is the pure core of a storage node's writes to one key:
// what a coordinated write (paper §4.4: the coordinator assigns the new
// version) and a replica's merge (§4.4 reconciliation, §4.6 read repair and
// hinted copies) do to the object a node holds, with every limit checked
// on the result. It does no I/O: storaged runs these functions inside the
// store's commit loop, which serialises them per key, and persists what
// they return.
package replica

import (
	"fmt"

	"github.com/shoalkv/shoal/internal/mutant"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Write is a client's write as a coordinator receives it: the new value
// (or a tombstone) and the causal context it supersedes.
type Write struct {
	Value     []byte
	Tombstone bool
	Context   dvv.VV
}

// Coordinate applies w to cur under actor: the next dot of actor over w's
// context, the new sibling, and the sibling, clock and object size limits
// checked on the result. Errors match wire.ErrBadRequest (a context that
// claims dots actor never issued, or an exhausted counter),
// wire.ErrSiblingLimit or wire.ErrTooLarge, with a message that says what
// to do. cur is not modified.
func Coordinate(cur dvv.Set, actor dvv.Actor, w Write, lim wire.Limits) (dvv.Set, error) {
	if w.Tombstone && mutant.On(mutant.TombstoneCoversAll) {
		w.Context = w.Context.Merge(cur.VV) // a deliberate bug, for the simulator's negative control
	}
	if _, err := cur.NextDot(actor, w.Context); err != nil {
		return dvv.Set{}, fmt.Errorf("%w: %w", wire.ErrBadRequest, err)
	}
	next, _ := cur.Update(actor, w.Context, w.Value, w.Tombstone)
	if n := len(next.Siblings); n > lim.MaxSiblings {
		return dvv.Set{}, fmt.Errorf("%w: the write would leave %d siblings (limit %d); read the key and write back a resolved value with its context",
			wire.ErrSiblingLimit, n, lim.MaxSiblings)
	}
	if n := len(next.VV); n > lim.MaxContext {
		return dvv.Set{}, fmt.Errorf("%w: the write would give the key's version vector %d actors (limit %d): each failover in which a stand-in node coordinated a write of this key added an actor; resolve the key (read it and write back one value with its context) once all its primaries are back (actor pruning is not built yet)",
			wire.ErrTooLarge, n, lim.MaxContext)
	}
	if n := next.Size(); n > lim.MaxObject {
		return dvv.Set{}, fmt.Errorf("%w: the write would make a %d-byte object (limit %d); resolve siblings", wire.ErrTooLarge, n, lim.MaxObject)
	}
	return next, nil
}

// ManySiblings reports a sibling count worth a warning: over a quarter of
// the limit.
func ManySiblings(s dvv.Set, lim wire.Limits) bool { return len(s.Siblings) > lim.MaxSiblings/4 }

// Merge returns the merge of cur and in (a DVV sync: it never drops a
// value that either side holds and the other does not supersede) and
// whether it differs from cur. Neither argument is modified.
func Merge(cur, in dvv.Set) (dvv.Set, bool) {
	if mutant.On(mutant.ReplicateOverwrites) {
		return in, !in.Equal(cur) // a deliberate bug, for the simulator's negative control
	}
	next := dvv.Merge(cur, in)
	return next, !next.Equal(cur)
}
