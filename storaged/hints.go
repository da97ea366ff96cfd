package storaged

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/replica"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Hinted writes (sloppy quorum, paper §4.6). A driver that finds a primary
// of a key unreachable sends its copy to the next healthy fallback with
// HintFor naming the primary. The fallback keeps it in its hints bucket, one
// record per (key, owner) (see package hint), serves it to reads, and
// delivers it to the owner when the owner is back (delivery.go).

// hintChange is what a write did to a hint record, accounted in the
// in-memory backlog inside the commit loop (hintBook.account) and taken back
// if the write then fails to commit.
type hintChange struct {
	written bool  // false: the record was already up to date
	created bool  // the write created the record
	kept    int64 // the encoded size of the kept record the write un-kept; 0 if none
	grow    int64 // change of the record's encoded size
	sinceMS int64 // the record's creation time (see hint.Record.SinceMS)
}

// adds reports whether the write adds a record to its owner's backlog: it
// created it, or un-kept it.
func (ch hintChange) adds() bool { return ch.created || ch.kept > 0 }

// replicateHint merges a replica meant for req.HintFor into this node's hint
// record for it, creating the record if needed, durably before answering.
func (s *Server) replicateHint(ctx context.Context, req *wire.Replicate) (any, error) {
	lim := s.cfg.Limits
	if err := errors.Join(lim.CheckKey(req.Key), lim.CheckObject(req.Object)); err != nil {
		return nil, err
	}
	err := s.applyHint(ctx, req.Key, req.HintFor, func(rec *hint.Record) (bool, error) {
		next, changed := replica.Merge(rec.Object, req.Object)
		rec.Object = next
		return changed, nil
	})
	if err != nil {
		return nil, err
	}
	return &wire.Ack{}, nil
}

// coordinateHint records a new write meant for req.HintFor, as a fallback
// coordinator: it assigns the dot under the hint record's own actor, merges
// over the record's object, persists the record and answers with the
// resulting object, which the driver then replicates like any coordinated
// write.
//
// The actor is dvv.Actor{Node: this node, Epoch: the record's epoch}, minted
// the first time a hinted coordinate touches the record and kept in it; see
// hint.MintEpoch for why neither the node's own actor nor an epoch reused
// across records would be safe. Everything else (the next dot over the
// client's context, sibling and object limits) is the ordinary coordinate's
// code.
func (s *Server) coordinateHint(ctx context.Context, req *wire.Coordinate) (any, error) {
	if err := s.checkCoordinate(req); err != nil {
		return nil, err
	}
	var out dvv.Set
	err := s.applyHint(ctx, req.Key, req.HintFor, func(rec *hint.Record) (bool, error) {
		if rec.Epoch == 0 {
			var err error
			if rec.Epoch, err = hint.MintEpoch(s.cfg.Rand, s.actor.Epoch); err != nil {
				return false, err
			}
		}
		next, err := s.update(rec.Object, dvv.Actor{Node: s.cfg.ID, Epoch: rec.Epoch}, req)
		if err != nil {
			return false, err
		}
		rec.Object, out = next, next
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return &wire.Object{Object: out}, nil
}

// applyHint runs change on the hint record of key for owner (a new, empty
// one when there is none) inside the store's commit loop, then admits the
// result against the hint policy and stores it durably; hinted replicates
// and coordinates share everything but change. change reports whether it
// changed the record: an existing record it did not change is not
// rewritten.
func (s *Server) applyHint(ctx context.Context, key []byte, owner string, change func(rec *hint.Record) (bool, error)) error {
	owner, hk, err := s.hintTarget(key, owner)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	var ch hintChange
	err = s.st.Apply(ctx, store.Hints, hk, func(old []byte) ([]byte, error) {
		rec, err := decodeHint(old, now)
		if err != nil {
			return nil, err
		}
		changed, err := change(&rec)
		if err != nil {
			return nil, err
		}
		if old != nil && !changed {
			return nil, nil
		}
		return s.admitHint(owner, old, rec, now, &ch)
	})
	return s.hintApplied(owner, ch, err)
}

// hintTarget checks that owner may be hinted for, a member of the current
// ring other than this node, and returns the record's stored key.
func (s *Server) hintTarget(key []byte, owner string) (string, []byte, error) {
	r := s.ring.Load()
	if owner == s.cfg.ID {
		return "", nil, fmt.Errorf("%w: hint names this node (%q) as the owner; send it an ordinary write", wire.ErrBadRequest, owner)
	}
	if _, ok := r.Node(ring.NodeID(owner)); !ok {
		return "", nil, fmt.Errorf("%w: hint names %q, which is not a member of ring version %d", wire.ErrBadRequest, owner, r.Version())
	}
	hk, err := hint.Key(key, owner)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", wire.ErrBadRequest, err)
	}
	if len(hk) > store.MaxKeySize {
		return "", nil, fmt.Errorf("%w: a %d-byte key is too long to hold as a hint for %q (stored key limit %d)",
			wire.ErrTooLarge, len(key), owner, store.MaxKeySize)
	}
	return owner, hk, nil
}

// decodeHint decodes a stored hint record; for an absent one (old nil) it
// returns a new, empty record created at now.
func decodeHint(old []byte, now time.Time) (hint.Record, error) {
	if old == nil {
		return hint.Record{SinceMS: now.UnixMilli()}, nil
	}
	rec, err := hint.DecodeRecord(old)
	if err != nil {
		return hint.Record{}, fmt.Errorf("%w: stored hint is corrupt: %w", wire.ErrStorage, err)
	}
	return rec, nil
}

// admitHint encodes rec, the new state (with new data) of a record of owner
// whose bytes are old, and checks the write against the hint policy and
// owner's records. A record that was kept stops being kept, as of now: the
// owner refused what it held, not the new data (a resolved, smaller
// object, say), so it is pending again. On success admitHint accounts the
// write in the book, fills ch and returns the bytes to store; hintApplied
// must follow.
//
// It runs inside the commit loop, in Apply's function, which runs once: so
// the write is accounted before it commits, and so before any delivery can
// see the record and account its removal. (Never call it from
// ApplyOptimistic, whose function may also run ahead, outside the loop.)
func (s *Server) admitHint(owner string, old []byte, rec hint.Record, now time.Time, ch *hintChange) ([]byte, error) {
	var kept int64
	if rec.Kept {
		rec.Kept, rec.SinceMS, kept = false, now.UnixMilli(), int64(len(old))
	}
	b, err := hint.EncodeRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("encode hint: %w", err)
	}
	w := hint.Write{New: old == nil, Grow: int64(len(b) - len(old))}
	pending, keptB := s.hints.held(owner)
	if err := s.policy.Admit(owner, pending, keptB, w, now); err != nil {
		return nil, fmt.Errorf("%w: %w", wire.ErrHintRefused, err)
	}
	*ch = hintChange{written: true, created: w.New, kept: kept, grow: w.Grow, sinceMS: rec.SinceMS}
	s.hints.account(owner, *ch)
	return b, nil
}

// hintApplied finishes a hinted write whose Apply returned err: it settles
// the write accounted by admitHint (taking it back if it did not commit),
// counts a refusal, and maps err for the answer.
func (s *Server) hintApplied(owner string, ch hintChange, err error) error {
	if hook := testHookHintApplied.Load(); hook != nil {
		(*hook)()
	}
	if ch.written {
		s.hints.settle(owner, ch, err == nil)
	}
	if err != nil {
		if errors.Is(err, wire.ErrHintRefused) {
			s.hints.refused(owner, err, s.clock.Now())
		}
		return storeErr(err)
	}
	return nil
}

// testHookHintApplied, when set (by tests only), runs as a hinted write's
// Apply has returned, before hintApplied settles it.
var testHookHintApplied atomic.Pointer[func()]
