// Package replica is the pure core of a storage node's writes to one key:
// what a coordinated write (paper §4.4: the coordinator assigns the new
// version) and a replica's merge (§4.4 reconciliation, §4.6 read repair and
// hinted copies) do to the object a node holds, with every limit checked
// on the result. It does no I/O: storaged runs these functions inside the
// store's commit loop, which serialises them per key, and persists what
// they return.
package replica

import (
	"bytes"
	"crypto/sha256"
	"errors"
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
// context, the new sibling, and the result checked against every limit
// (Check). held says cur is a record the node holds (false: the key is
// absent here); it decides how far w's context may claim actor's dots
// (Claims). Errors match wire.ErrBadRequest (a context that claims dots
// actor never issued), wire.ErrSiblingLimit or wire.ErrTooLarge, with a
// message that says what to do. cur is not modified.
func Coordinate(cur dvv.Set, held bool, actor dvv.Actor, w Write, lim wire.Limits) (dvv.Set, error) {
	if w.Tombstone && mutant.On(mutant.TombstoneCoversAll) {
		w.Context = w.Context.Merge(cur.VV) // a deliberate bug, for the simulator's negative control
	}
	if err := Claims(cur, held, actor, w.Context, "context"); err != nil {
		return dvv.Set{}, err
	}
	if _, err := cur.NextDot(actor, w.Context); err != nil {
		return dvv.Set{}, fmt.Errorf("%w: %w", wire.ErrBadRequest, err)
	}
	next, _ := cur.Update(actor, w.Context, w.Value, w.Tombstone)
	if err := Check(next, lim); err != nil {
		return dvv.Set{}, err
	}
	return next, nil
}

// Check is the one validation of an object a write would store, whatever
// the path (coordinate, replicate, hinted writes, hint delivery, read
// repair): at most MaxSiblings siblings, a version vector of at most
// MaxContext actors, no value over MaxValue, and an encoded size of at most
// MaxObject, so that every stored object can be read back in one answer.
// Errors match wire.ErrSiblingLimit or wire.ErrTooLarge and say what to do.
func Check(s dvv.Set, lim wire.Limits) error {
	if n := len(s.Siblings); n > lim.MaxSiblings {
		return fmt.Errorf("%w: the write would leave %d siblings (limit %d); read the key and write back a resolved value with its context",
			wire.ErrSiblingLimit, n, lim.MaxSiblings)
	}
	if n := len(s.VV); n > lim.MaxContext {
		return fmt.Errorf("%w: the write would give the key's version vector %d actors (limit %d): each failover in which a stand-in node coordinated a write of this key added an actor; resolve the key (read it and write back one value with its context) once all its primaries are back (actor pruning is not built yet)",
			wire.ErrTooLarge, n, lim.MaxContext)
	}
	for _, sib := range s.Siblings {
		if err := lim.CheckValue(sib.Value); err != nil {
			return err
		}
	}
	if n := s.Size(); n > lim.MaxObject {
		return fmt.Errorf("%w: the write would make a %d-byte object (limit %d); resolve siblings", wire.ErrTooLarge, n, lim.MaxObject)
	}
	return nil
}

// ErrClaim marks a refusal by Claims (it also matches wire.ErrBadRequest),
// so a node can count forged claims apart from other bad requests.
var ErrClaim = errors.New("forged claim")

// MaxClaim is the highest counter of one of a node's own actors that a
// context or incoming object may claim for a key the node does not hold.
// No key is written 2^48 times under one actor, so a claim above it can
// only be forged; refusing it keeps a forged claim near 2^64 from
// exhausting the key's counter (every later write of the key would fail).
const MaxClaim = 1 << 48

// Claims checks what claims (a client's context, or the version vector of
// an incoming object) says about actor, one of this node's own actors,
// against cur, what the node holds of the key. The node issued every dot of
// actor that exists, and made it durable here before anyone else saw it, so
// a claim above cur's counter for actor is forged when held is true; for a
// key the node does not hold (absent, or lost to damage and being repaired)
// it cannot tell, and refuses only claims above MaxClaim. A refusal matches
// wire.ErrBadRequest; what names the claimant in its message.
func Claims(cur dvv.Set, held bool, actor dvv.Actor, claims dvv.VV, what string) error {
	c := claims.Get(actor)
	if c == 0 {
		return nil
	}
	if held {
		if have := cur.VV.Get(actor); c > have {
			return fmt.Errorf("%w: %w: the %s claims %s:%d, but this node has issued only up to %d for this key; a context or object must come from this cluster's answers",
				wire.ErrBadRequest, ErrClaim, what, actor, c, have)
		}
		return nil
	}
	if c > MaxClaim {
		return fmt.Errorf("%w: %w: the %s claims %s:%d, past any counter this node issues (%d); a context or object must come from this cluster's answers",
			wire.ErrBadRequest, ErrClaim, what, actor, c, uint64(MaxClaim))
	}
	return nil
}

// ManySiblings reports a sibling count worth a warning: over a quarter of
// the limit.
func ManySiblings(s dvv.Set, lim wire.Limits) bool { return len(s.Siblings) > lim.MaxSiblings/4 }

// Merge returns the merge of cur and in (a DVV sync: it never drops a
// value that either side holds and the other does not supersede) and
// whether it differs from cur. A changed result must pass Check: a merge
// that would leave more siblings than allowed, or an object too large to
// read back, is refused, and the replicas converge once a client resolves
// the key (a coordinated write is always within the limits). A dot that
// both hold with different contents is refused with wire.ErrDotConflict:
// only corruption or a forged relay does that, and keeping either copy
// silently would hide it. Neither argument is modified.
func Merge(cur, in dvv.Set, lim wire.Limits) (dvv.Set, bool, error) {
	if mutant.On(mutant.ReplicateOverwrites) {
		return in, !in.Equal(cur), nil // a deliberate bug, for the simulator's negative control
	}
	if err := conflict(cur, in); err != nil {
		return dvv.Set{}, false, err
	}
	next := dvv.Merge(cur, in)
	if next.Equal(cur) {
		return next, false, nil
	}
	if err := Check(next, lim); err != nil {
		return dvv.Set{}, false, err
	}
	return next, true, nil
}

// conflict reports the first dot that cur and in both hold with different
// contents. Both sibling lists are sorted by dot.
func conflict(cur, in dvv.Set) error {
	i, j := 0, 0
	for i < len(cur.Siblings) && j < len(in.Siblings) {
		x, y := cur.Siblings[i], in.Siblings[j]
		switch c := x.Dot.Compare(y.Dot); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			if x.Tombstone != y.Tombstone || !bytes.Equal(x.Value, y.Value) {
				return fmt.Errorf("%w: this node holds %s as %s, the incoming object has %s under the same dot",
					wire.ErrDotConflict, x.Dot, describe(x), describe(y))
			}
			i++
			j++
		}
	}
	return nil
}

func describe(s dvv.Sibling) string {
	if s.Tombstone {
		return "a tombstone"
	}
	h := sha256.Sum256(s.Value)
	return fmt.Sprintf("%d bytes (sha256 %x...)", len(s.Value), h[:8])
}
