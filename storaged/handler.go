package storaged

import (
	"context"
	"errors"
	"fmt"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/replica"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Handle serves one request (wire.Handler).
func (s *Server) Handle(ctx context.Context, p wire.Peer, t wire.Type, body []byte) (any, error) {
	resp, err := s.handle(ctx, p, t, body)
	s.rejected.note(p, t, err)
	return resp, err
}

func (s *Server) handle(ctx context.Context, p wire.Peer, t wire.Type, body []byte) (any, error) {
	switch t {
	case wire.TypeCoordinate:
		var req wire.Coordinate
		if err := wire.Decode(body, &req); err != nil {
			return nil, err
		}
		if req.HintFor != "" {
			return s.coordinateHint(ctx, &req)
		}
		return s.coordinate(ctx, &req)
	case wire.TypeReplicate:
		var req wire.Replicate
		if err := wire.Decode(body, &req); err != nil {
			return nil, err
		}
		if req.HintFor != "" {
			return s.replicateHint(ctx, &req)
		}
		return s.merge(ctx, req.Key, req.Object)
	case wire.TypeHandoff:
		if err := s.member(p); err != nil {
			return nil, err
		}
		var req wire.Handoff
		if err := wire.Decode(body, &req); err != nil {
			return nil, err
		}
		return s.merge(ctx, req.Key, req.Object)
	case wire.TypeGet:
		var req wire.Get
		if err := wire.Decode(body, &req); err != nil {
			return nil, err
		}
		return s.get(&req)
	case wire.TypeExchangeTop:
		return s.exchangeTop(p, body)
	case wire.TypeExchangeLeaves:
		return s.exchangeLeaves(p, body)
	case wire.TypeExchangeKeys:
		return s.exchangeKeys(p, body)
	case wire.TypeRing:
		return &wire.RingOK{Ring: s.ring.Load()}, nil
	case wire.TypeStatus:
		return s.statusReport()
	case wire.TypeRepair:
		return s.startRepair(body)
	case wire.TypeRepairStatus:
		return s.repairStatus(body)
	}
	return nil, fmt.Errorf("%w: %s is not a request this node serves", wire.ErrUnknownType, t)
}

// coordinate records a new write: it assigns the next dot of this node's
// actor for the key over the client's context, merges, and makes the result
// durable before answering (DESIGN §2 step 2). The store's commit loop
// serialises read-modify-writes, so dots are never issued twice. The key's
// hash tree takes the write's delta once its batch has committed (trees).
func (s *Server) coordinate(ctx context.Context, req *wire.Coordinate) (any, error) {
	if err := s.checkCoordinate(req); err != nil {
		return nil, err
	}
	var out dvv.Set
	p := s.ring.Load().PartitionOf(req.Key)
	err := s.st.ApplyThen(ctx, store.Objects, req.Key, func(old []byte) ([]byte, func(bool), error) {
		cur, err := decodeObject(old)
		if err != nil {
			return nil, nil, err
		}
		next, err := s.update(cur, s.holds(old), s.actor, req)
		if err != nil {
			return nil, nil, err
		}
		b, err := dvv.EncodeSet(next)
		if err != nil {
			return nil, nil, fmt.Errorf("encode object: %w", err)
		}
		out = next
		return b, s.trees.stage(p, req.Key, cur, next), nil
	}, store.RefuseCorrupt) // over a damaged record a new dot could repeat one already issued
	if err != nil {
		return nil, storeErr(err)
	}
	return &wire.Object{Object: out}, nil
}

// checkCoordinate checks a coordinate request's key, value and context
// against the limits.
func (s *Server) checkCoordinate(req *wire.Coordinate) error {
	lim := s.cfg.Limits
	return errors.Join(lim.CheckKey(req.Key), lim.CheckValue(req.Value), lim.CheckContext(req.Context))
}

// member refuses a node-only request from a peer that is not a member of
// the current ring: the wire layer has checked its node certificate, but a
// certificate for an id outside the cluster (an old node's, or one issued
// by mistake) must not hand this node data.
func (s *Server) member(p wire.Peer) error {
	r := s.ring.Load()
	if _, ok := r.Node(ring.NodeID(p.ID)); !ok {
		return fmt.Errorf("%w: node-to-node requests come only from members; peer %q (%s) is not a member of ring version %d",
			wire.ErrForbidden, p.ID, p.Addr, r.Version())
	}
	return nil
}

// holds reports whether old, a record read in the commit loop, is one the
// node holds durably, so that what it says of this node's own dots is the
// whole truth (replica.Claims). Without fsync a crash can lose
// acknowledged writes, and what peers hold of this node's dots may run
// ahead of what it holds, so then it holds nothing it can vouch for.
func (s *Server) holds(old []byte) bool { return old != nil && !s.cfg.NoSync }

// update applies a coordinated write to cur under actor (replica.Coordinate)
// and warns of a key with many siblings. It is shared by ordinary and
// hinted coordination, which differ only in the actor and where cur is
// stored. It must run inside the store's commit loop, which serialises it
// with every other write of the key.
func (s *Server) update(cur dvv.Set, held bool, actor dvv.Actor, req *wire.Coordinate) (dvv.Set, error) {
	next, err := replica.Coordinate(cur, held, actor, replica.Write{Value: req.Value, Tombstone: req.Tombstone, Context: req.Context}, s.cfg.Limits)
	if err == nil && replica.ManySiblings(next, s.cfg.Limits) {
		s.log.Warn("many siblings", "key", fmt.Sprintf("%q", req.Key), "siblings", len(next.Siblings), "limit", s.cfg.Limits.MaxSiblings)
	}
	return next, err
}

// merge syncs a replica's object into the local one and persists the result
// (never an overwrite: paper §4.4 reconciliation with DVV semantics). It is
// the write of replication, read repair and hint delivery; the key's hash
// tree takes its delta once its batch has committed (trees).
func (s *Server) merge(ctx context.Context, key []byte, obj dvv.Set) (any, error) {
	lim := s.cfg.Limits
	if err := errors.Join(lim.CheckKey(key), lim.CheckObject(obj)); err != nil {
		return nil, err
	}
	p := s.ring.Load().PartitionOf(key)
	err := s.st.ApplyThen(ctx, store.Objects, key, func(old []byte) ([]byte, func(bool), error) {
		cur, err := decodeObject(old)
		if err != nil {
			return nil, nil, err
		}
		if err := replica.Claims(cur, s.holds(old), s.actor, obj.VV, "object"); err != nil {
			return nil, nil, err
		}
		next, changed, err := replica.Merge(cur, obj, lim)
		if err != nil {
			return nil, nil, fmt.Errorf("key %s: %w", store.KeyHash(key), err)
		}
		if old != nil && !changed {
			return nil, nil, nil // nothing new; what we hold is already durable
		}
		b, err := dvv.EncodeSet(next)
		if err != nil {
			return nil, nil, fmt.Errorf("encode object: %w", err)
		}
		return b, s.trees.stage(p, key, cur, next), nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	return &wire.Ack{}, nil
}

// get answers with the merge of this node's replica of the key and every
// hint it holds for the key, read from one snapshot: a fallback standing in
// for a primary must let reads see the writes it accepted (paper §4.6), and
// merging is always safe. Found is true if either exists.
func (s *Server) get(req *wire.Get) (any, error) {
	if err := s.cfg.Limits.CheckKey(req.Key); err != nil {
		return nil, err
	}
	prefix, err := hint.Prefix(req.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", wire.ErrBadRequest, err)
	}
	var out wire.GetOK
	err = s.st.View(func(v store.View) error {
		b, err := v.Get(store.Objects, req.Key)
		switch {
		case err == nil:
			if out.Object, err = decodeObject(b); err != nil {
				return err
			}
			out.Found = true
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return v.Scan(store.Hints, nil, prefix, func(k, val []byte) bool {
			rec, err := hint.DecodeRecord(val)
			if err != nil {
				s.hints.unreadableRead(k, err, s.clock.Now()) // skipped, as loading and delivery do
				return true
			}
			out.Object, out.Found = dvv.Merge(out.Object, rec.Object), true
			return true
		})
	})
	if err != nil {
		return nil, storeErr(err)
	}
	return &out, nil
}

func (s *Server) status() (any, error) {
	objects, err := s.st.Count(store.Objects)
	if err != nil {
		return nil, storeErr(err)
	}
	hints, err := s.st.Count(store.Hints)
	if err != nil {
		return nil, storeErr(err)
	}
	st := s.st.Stats()
	hs := s.hints.status()
	ts := s.trees.status()
	return &wire.StatusOK{
		Node:            s.cfg.ID,
		Addr:            s.ep.Addr().String(),
		Epoch:           s.actor.Epoch,
		RingVersion:     s.ring.Load().Version(),
		Objects:         uint64(objects),
		Hints:           uint64(hints),
		UptimeMS:        uint64(s.clock.Now().Sub(s.started).Milliseconds()),
		Commits:         st.Commits,
		Writes:          st.Writes,
		HintOwners:      hs.owners,
		HintsDelivered:  hs.delivered,
		HintsRefused:    hs.refused,
		HintsKept:       hs.kept,
		HintsCorrected:  hs.corrected,
		Transport:       s.ep.Stats(),
		RefusedConflict: s.rejected.conflict.Load(), RefusedClaim: s.rejected.claim.Load(),
		RefusedNonMember: s.rejected.member.Load(), RefusedLimit: s.rejected.limit.Load(),
		CorruptReads: st.CorruptReads, CorruptRecords: st.CorruptRecords,
		Quarantined: s.quarantined,
		Trees:       ts.trees, TreeKeys: ts.rebuildKeys, TreeRebuildMS: ts.rebuildMS, TreeMismatches: ts.mismatches,
		AEPartitions: s.ae.partitions.Load(), AEKeysRepaired: s.ae.repaired.Load(),
		AELastCycleMS: s.ae.lastCycleMS.Load(), AEFailed: s.ae.failed.Load(),
	}, nil
}

// decodeObject decodes a stored object; nil means the key is absent.
func decodeObject(b []byte) (dvv.Set, error) {
	if b == nil {
		return dvv.Set{}, nil
	}
	obj, err := dvv.DecodeSet(b)
	if err != nil {
		return dvv.Set{}, fmt.Errorf("%w: stored object is corrupt: %w", wire.ErrStorage, err)
	}
	return obj, nil
}

// storeErr tags persistence failures so clients see CodeStorage; errors our
// own mutation functions returned keep their codes.
func storeErr(err error) error {
	switch {
	case errors.Is(err, wire.ErrSiblingLimit), errors.Is(err, wire.ErrTooLarge),
		errors.Is(err, wire.ErrBadRequest), errors.Is(err, wire.ErrStorage),
		errors.Is(err, wire.ErrHintRefused), errors.Is(err, wire.ErrDotConflict):
		return err
	case errors.Is(err, store.ErrClosed):
		return fmt.Errorf("%w: %w", wire.ErrShuttingDown, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%w: %w", wire.ErrStorage, err)
}
