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
		return s.merge(ctx, req.Key, req.Object, replica.FromClient)
	case wire.TypeHandoff:
		if err := s.member(p); err != nil {
			return nil, err
		}
		var req wire.Handoff
		if err := wire.Decode(body, &req); err != nil {
			return nil, err
		}
		return s.merge(ctx, req.Key, req.Object, replica.FromNode)
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
	case wire.TypeExchangeClocks:
		return s.exchangeClocks(p, body)
	case wire.TypeRing:
		return &wire.RingOK{Ring: s.ring.Load()}, nil
	case wire.TypeStatus:
		return s.statusReport()
	case wire.TypeRepair:
		return s.startRepair(body)
	case wire.TypeRepairStatus:
		return s.repairStatus(body)
	case wire.TypeGossip:
		return s.serveGossip(ctx, p, body)
	case wire.TypeSwim:
		return s.swimReceive(p, body)
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
		cur, err := decodeLocal(old)
		if err != nil {
			return nil, nil, err
		}
		next, err := s.update(cur, req)
		if err != nil {
			return nil, nil, err
		}
		b, err := replica.EncodeLocal(next)
		if err != nil {
			return nil, nil, fmt.Errorf("encode object: %w", err)
		}
		out = next.Object
		return b, s.trees.stage(p, req.Key, cur.Object, next.Object), nil
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

// self is this node as the replica core sees it (replica.Self): its id,
// its store epoch, whether it syncs, and its source of key epochs.
func (s *Server) self() replica.Self {
	return replica.Self{Node: string(s.cfg.ID), Store: s.actor.Epoch, Durable: !s.cfg.NoSync, Mint: s.mintEpoch}
}

// mintEpoch returns a new key epoch from the node's random source, never
// the store's own epoch (which would make the actor's epoch 0).
func (s *Server) mintEpoch() (uint64, error) { return hint.MintEpoch(s.cfg.Rand, s.actor.Epoch) }

// update applies a coordinated write to cur (replica.Coordinate) and warns
// of a key with many siblings. It is shared by ordinary and hinted
// coordination, which differ only in where cur is stored. It must run
// inside the store's commit loop, which serialises it with every other
// write of the key.
func (s *Server) update(cur replica.Local, req *wire.Coordinate) (replica.Local, error) {
	next, err := replica.Coordinate(cur, s.self(), replica.Write{Value: req.Value, Tombstone: req.Tombstone, Context: req.Context}, s.cfg.Limits)
	if err == nil && replica.ManySiblings(next.Object, s.cfg.Limits) {
		s.log.Warn("many siblings", "key", store.KeyHash(req.Key), "siblings", len(next.Object.Siblings), "limit", s.cfg.Limits.MaxSiblings)
	}
	return next, err
}

// merge syncs a replica's object into the local one and persists the result
// (never an overwrite: paper §4.4 reconciliation with DVV semantics). It is
// the write of replication, read repair (src: a client), hint delivery and
// anti-entropy (src: a node); src decides what an object that counts this
// node's dots beyond what it holds means (replica.Merge). The key's hash
// tree takes its delta once its batch has committed (trees).
func (s *Server) merge(ctx context.Context, key []byte, obj dvv.Set, src replica.Source) (any, error) {
	lim := s.cfg.Limits
	if err := errors.Join(lim.CheckKey(key), lim.CheckObject(obj)); err != nil {
		return nil, err
	}
	p := s.ring.Load().PartitionOf(key)
	var refused error // a refusal whose proof of amnesia is stored all the same (replica.Merge)
	err := s.st.ApplyThen(ctx, store.Objects, key, func(old []byte) ([]byte, func(bool), error) {
		refused = nil
		cur, err := decodeLocal(old)
		if err != nil {
			return nil, nil, err
		}
		next, changed, err := replica.Merge(cur, obj, s.self(), src, lim)
		if err != nil {
			err = fmt.Errorf("key %s: %w", store.KeyHash(key), err)
			if !changed {
				return nil, nil, err
			}
			refused = err
		}
		if old != nil && !changed {
			return nil, nil, nil // nothing new; what we hold is already durable
		}
		if next.Epoch != cur.Epoch {
			s.log.Warn("a peer holds more of this node's writes of a key than it does: the key's next write here takes a fresh actor",
				"key", store.KeyHash(key))
		}
		b, err := replica.EncodeLocal(next)
		if err != nil {
			return nil, nil, fmt.Errorf("encode object: %w", err)
		}
		return b, s.trees.stage(p, key, cur.Object, next.Object), nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	if refused != nil {
		return nil, refused
	}
	return &wire.Ack{}, nil
}

// get answers with the merge of this node's replica of the key and every
// hint it holds for the key (but retained ones, delivered already), read
// from one snapshot: a fallback standing in
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
			if rec.Retained {
				return true // delivered already: the owner serves it
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
		Node:          s.cfg.ID,
		Addr:          s.ep.Addr().String(),
		Epoch:         s.actor.Epoch,
		RingVersion:   s.ring.Load().Version(),
		Objects:       uint64(objects),
		Hints:         uint64(hints) - min(hs.retained, uint64(hints)), // retained records are no hints to deliver
		HintsRetained: hs.retained, HintsRetainedBytes: hs.retainedBytes,
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

// decodeLocal decodes a stored object and its key epoch; nil means the key
// is absent.
func decodeLocal(b []byte) (replica.Local, error) {
	l, err := replica.DecodeLocal(b)
	if err != nil {
		return replica.Local{}, fmt.Errorf("%w: stored object is corrupt: %w", wire.ErrStorage, err)
	}
	return l, nil
}

// decodeObject decodes a stored object without its key epoch; nil means the
// key is absent.
func decodeObject(b []byte) (dvv.Set, error) {
	l, err := decodeLocal(b)
	return l.Object, err
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
