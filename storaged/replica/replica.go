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

// Coordinate applies w to cur, the node's copy of the key: the next dot of
// the node's actor for the key over w's context, the new sibling, and the
// result checked against every limit (Check). The actor is the key's own
// (Local.Own) unless there is none yet, or w's context claims a counter of
// it above the one cur holds: then a fresh key epoch is minted (see
// local.go), so no dot is ever issued twice. A context that claims more
// than the node holds is either forged or proof that the node lost writes
// it issued (kv679_dataloss); under a fresh actor both are harmless, the
// first can exhaust no counter and the second swallows no new write.
// Errors match wire.ErrSiblingLimit or wire.ErrTooLarge, with a message
// that says what to do, or are Mint's. cur is not modified.
func Coordinate(cur Local, self Self, w Write, lim wire.Limits) (Local, error) {
	if w.Tombstone && mutant.On(mutant.TombstoneCoversAll) {
		w.Context = w.Context.Merge(cur.Object.VV) // a deliberate bug, for the simulator's negative control
	}
	next := Local{Object: cur.Object, Epoch: cur.Epoch}
	if a, ok := cur.Own(self); !ok || w.Context.Get(a) > cur.Object.VV.Get(a) {
		if mutant.On(mutant.KeyEpochReused) && ok {
			// a deliberate bug, for the kv679 tests' negative control: keep
			// the actor whatever the context says
		} else {
			e, err := self.fresh(cur.Object, w.Context)
			if err != nil {
				return Local{}, err
			}
			next.Epoch = e
		}
	}
	actor := self.Actor(next.Epoch)
	if mutant.On(mutant.NodeActorForEveryKey) {
		actor, next.Epoch = dvv.Actor{Node: self.Node, Epoch: self.Store}, 0 // a deliberate bug, for the kv679 tests' negative control
	}
	if _, err := cur.Object.NextDot(actor, w.Context); err != nil {
		return Local{}, fmt.Errorf("%w: %w", wire.ErrBadRequest, err)
	}
	next.Object, _ = cur.Object.Update(actor, w.Context, w.Value, w.Tombstone)
	if err := Check(next.Object, lim); err != nil {
		return Local{}, err
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
		return fmt.Errorf("%w: the write would give the key's version vector %d actors (limit %d): each node that coordinated a write of this key (and each fallback, per owner it stood in for) added an actor, one more each time the key was re-created or a node lost its data; this many actors means forged or runaway contexts: write the key back with a context from a fresh read",
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

// ErrClaim marks a refusal by Merge of a client's object that claims the
// node's own actor for the key beyond what it issued (it also matches
// wire.ErrBadRequest), so a node can count forged claims apart from other
// bad requests.
var ErrClaim = errors.New("forged claim")

// MaxClaim is the highest counter of the node's own actor for a key that
// an incoming object may claim. No key is written 2^48 times under one
// actor, so a claim above it can only be forged (or corrupt), whoever sent
// it and whether or not the node syncs: it is refused, never taken as
// amnesia.
const MaxClaim = 1 << 48

// Source says who sent an object to merge, which decides what a claim of
// the node's own actor beyond what it holds means (Merge).
type Source uint8

const (
	// FromClient: a driver's relay (replicate, read repair). A client
	// cannot prove what the node issued, so an over-claim is refused.
	FromClient Source = iota
	// FromNode: another member (anti-entropy, hint delivery): node
	// certificates are trusted peers, so an over-claim is proof that this
	// node lost writes it issued, and the key epoch is dropped.
	FromNode
)

// overClaim reports whether claims names the node's actor for the key at a
// counter above the one cur holds.
func overClaim(cur Local, self Self, claims dvv.VV) (dvv.Actor, uint64, bool) {
	a, ok := cur.Own(self)
	if !ok {
		return dvv.Actor{}, 0, false
	}
	c := claims.Get(a)
	return a, c, c > cur.Object.VV.Get(a)
}

// ManySiblings reports a sibling count worth a warning: over a quarter of
// the limit.
func ManySiblings(s dvv.Set, lim wire.Limits) bool { return len(s.Siblings) > lim.MaxSiblings/4 }

// Merge returns the merge of cur, the node's copy of the key, and in (a
// DVV sync: it never drops a value that either side holds and the other
// does not supersede) and whether the stored record must change. A changed
// object must pass Check: a merge that would leave more siblings than
// allowed, or an object too large to read back, is refused, and the
// replicas converge once a client resolves the key (a coordinated write is
// always within the limits). A dot that both hold with different contents
// is refused with wire.ErrDotConflict: only corruption, a forged relay or a
// reissued dot does that, and keeping either copy silently would hide it.
//
// When in claims the node's own actor for the key (Local.Own) beyond the
// counter cur holds, the node either lost writes it issued or src forged
// it: past MaxClaim, or from a client of a durable node, it is refused
// (ErrClaim); otherwise
// (a peer node, or a node that does not sync) it is taken as amnesia: the
// merge goes ahead and the key epoch is dropped, so that the next
// coordinated write takes a fresh actor (riak_kv#1643). That holds even
// when the merge itself is then refused (a dot conflict, a limit): the
// error comes with cur, its key epoch dropped, and changed true, for the
// caller to store before it reports the refusal. Neither argument is
// modified.
func Merge(cur Local, in dvv.Set, self Self, src Source, lim wire.Limits) (Local, bool, error) {
	if mutant.On(mutant.ReplicateOverwrites) {
		return Local{Object: in, Epoch: cur.Epoch}, !in.Equal(cur.Object), nil // a deliberate bug, for the simulator's negative control
	}
	next := Local{Epoch: cur.Epoch}
	if a, c, ok := overClaim(cur, self, in.VV); ok {
		if c > MaxClaim {
			return Local{}, false, fmt.Errorf("%w: %w: the object claims %s:%d, past any counter this node issues (%d); an object must come from this cluster's answers",
				wire.ErrBadRequest, ErrClaim, a, c, uint64(MaxClaim))
		}
		if src == FromClient && self.Durable {
			return Local{}, false, fmt.Errorf("%w: %w: the object claims %s:%d, but this node has issued only up to %d for this key; an object must come from this cluster's answers",
				wire.ErrBadRequest, ErrClaim, a, c, cur.Object.VV.Get(a))
		}
		if !mutant.On(mutant.KeyEpochReused) {
			next.Epoch = 0
		}
	}
	// A refused merge keeps the proof of amnesia: cur with the key epoch
	// dropped, to be stored all the same.
	refuse := func(err error) (Local, bool, error) {
		if next.Epoch != cur.Epoch {
			return Local{Object: cur.Object}, true, err
		}
		return Local{}, false, err
	}
	if err := conflict(cur.Object, in); err != nil {
		return refuse(err)
	}
	next.Object = dvv.Merge(cur.Object, in)
	if next.Object.Equal(cur.Object) {
		next.Object = cur.Object
		return next, next.Epoch != cur.Epoch, nil
	}
	if err := Check(next.Object, lim); err != nil {
		return refuse(err)
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
