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

// replicateHint merges a replica meant for req.HintFor into this node's hint
// record for it, creating the record if needed, durably before answering.
func (s *Server) replicateHint(ctx context.Context, req *wire.Replicate) (any, error) {
	lim := s.cfg.Limits
	if err := errors.Join(lim.CheckKey(req.Key), lim.CheckObject(req.Object)); err != nil {
		return nil, err
	}
	var refused error // a refusal whose proof of amnesia is stored all the same (replica.Merge)
	err := s.applyHint(ctx, req.Key, req.HintFor, func(rec *hint.Record) (bool, error) {
		refused = nil
		// The record's actor holds every dot it issued, as an object's does:
		// the same claim rule (replica.Merge).
		next, changed, err := replica.Merge(replica.Local{Object: rec.Object, Epoch: rec.Epoch}, req.Object, s.self(), replica.FromClient, lim)
		if err != nil {
			err = fmt.Errorf("key %s: %w", store.KeyHash(req.Key), err)
			if !changed {
				return false, err
			}
			refused = err
		}
		rec.Object, rec.Epoch = next.Object, next.Epoch
		return changed, nil
	})
	if err == nil {
		err = refused
	}
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
// The record's actor is the node's, with the record's own key epoch (see
// replica.Self.Actor), minted the first time a hinted coordinate touches
// the record and kept in it; see hint.MintEpoch for why neither the node's
// own actor for the key nor an epoch reused across records would be safe.
// Everything else (the next dot over the client's context, a fresh epoch
// on an over-claim, sibling and object limits) is the ordinary
// coordinate's code.
func (s *Server) coordinateHint(ctx context.Context, req *wire.Coordinate) (any, error) {
	if err := s.checkCoordinate(req); err != nil {
		return nil, err
	}
	var out dvv.Set
	err := s.applyHint(ctx, req.Key, req.HintFor, func(rec *hint.Record) (bool, error) {
		next, err := s.update(replica.Local{Object: rec.Object, Epoch: rec.Epoch}, req)
		if err != nil {
			return false, err
		}
		rec.Object, rec.Epoch, out = next.Object, next.Epoch, next.Object
		return true, nil
	}, store.RefuseCorrupt) // as in coordinate: a damaged record's epoch and counters are lost
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
func (s *Server) applyHint(ctx context.Context, key []byte, owner ring.NodeID, change func(rec *hint.Record) (bool, error), opts ...store.ApplyOption) error {
	owner, hk, err := s.hintTarget(key, owner)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.st.ApplyThen(ctx, store.Hints, hk, func(old []byte) ([]byte, func(bool), error) {
		rec, err := decodeHint(old, now)
		if err != nil {
			return nil, nil, err
		}
		changed, err := change(&rec)
		if err != nil {
			return nil, nil, err
		}
		if old != nil && !changed {
			return nil, nil, nil
		}
		return s.admitHint(owner, old, rec, now)
	}, opts...)
	return s.hintApplied(owner, err)
}

// hintTarget checks that owner may be hinted for, a member of the current
// ring other than this node, and returns the record's stored key.
func (s *Server) hintTarget(key []byte, owner ring.NodeID) (ring.NodeID, []byte, error) {
	r := s.ring.Load()
	if owner == s.cfg.ID {
		return "", nil, fmt.Errorf("%w: hint names this node (%q) as the owner; send it an ordinary write", wire.ErrBadRequest, owner)
	}
	if _, ok := r.Node(owner); !ok {
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
// owner's records, those of earlier writes of the same batch included. A
// record that was kept stops being kept, as of now: the owner refused what
// it held, not the new data (a resolved, smaller object, say), so it is
// pending again. So does a retained one (delivered, kept for its actor):
// it holds new data to deliver. On success it returns the bytes to store
// and the then function that accounts the write once its batch commits
// (hintBook.stage). It runs inside the commit loop, as an ApplyThen
// function.
func (s *Server) admitHint(owner ring.NodeID, old []byte, rec hint.Record, now time.Time) ([]byte, func(bool), error) {
	wasKept, wasRetained := rec.Kept, rec.Retained
	if wasKept || wasRetained {
		rec.Kept, rec.Retained, rec.SinceMS = false, false, now.UnixMilli()
	}
	b, err := hint.EncodeRecord(rec)
	if err != nil {
		return nil, nil, fmt.Errorf("encode hint: %w", err)
	}
	w := hint.Write{New: old == nil || wasRetained, Grow: int64(len(b) - len(old))}
	if wasRetained {
		w.Grow = int64(len(b))
	}
	pending, kept := s.hints.held(owner)
	if err := s.policy.Admit(owner, pending, kept, w, now); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", wire.ErrHintRefused, err)
	}
	d := hint.Grown(w.Grow)
	switch {
	case old == nil:
		d = hint.Created(int64(len(b)), rec.SinceMS)
	case wasKept:
		d = hint.Unkept(int64(len(old)), int64(len(b)), rec.SinceMS)
	case wasRetained:
		d = hint.Revived(int64(len(old)), int64(len(b)), rec.SinceMS)
	}
	return b, s.hints.stage(owner, d), nil
}

// hintApplied finishes a hinted write whose Apply returned err: it counts a
// refusal and maps err for the answer. The account was settled on the
// commit loop already.
func (s *Server) hintApplied(owner ring.NodeID, err error) error {
	if hook := testHookHintApplied.Load(); hook != nil {
		(*hook)()
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
// Apply has returned, before hintApplied counts a refusal.
var testHookHintApplied atomic.Pointer[func()]
