package storaged

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Handle serves one request (wire.Handler).
func (s *Server) Handle(ctx context.Context, p wire.Peer, t wire.Type, body []byte) (any, error) {
	switch t {
	case wire.TypeCoordinate:
		var req wire.Coordinate
		if err := wire.Decode(body, &req); err != nil {
			return nil, err
		}
		return s.coordinate(ctx, &req)
	case wire.TypeReplicate:
		var req wire.Replicate
		if err := wire.Decode(body, &req); err != nil {
			return nil, err
		}
		if req.HintFor != "" {
			return nil, fmt.Errorf("%w: hinted replicas are not supported by this node yet", wire.ErrBadRequest)
		}
		return s.merge(ctx, req.Key, req.Object)
	case wire.TypeHandoff:
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
	case wire.TypeRing:
		return &wire.RingOK{Ring: s.ring.Load()}, nil
	case wire.TypeStatus:
		return s.status()
	}
	return nil, fmt.Errorf("%w: %s is not a request this node serves", wire.ErrUnknownType, t)
}

// coordinate records a new write: it assigns the next dot of this node's
// actor for the key over the client's context, merges, and makes the result
// durable before answering (DESIGN §2 step 2). The store's commit loop
// serialises read-modify-writes, so dots are never issued twice.
func (s *Server) coordinate(ctx context.Context, req *wire.Coordinate) (any, error) {
	lim := s.cfg.Limits
	if err := errors.Join(lim.CheckKey(req.Key), lim.CheckValue(req.Value), lim.CheckContext(req.Context)); err != nil {
		return nil, err
	}
	var out dvv.Set
	err := s.st.Apply(ctx, store.Objects, req.Key, func(old []byte) ([]byte, error) {
		cur, err := decodeObject(old)
		if err != nil {
			return nil, err
		}
		if _, err := cur.NextDot(s.actor, req.Context); err != nil {
			return nil, fmt.Errorf("%w: %w", wire.ErrBadRequest, err)
		}
		next, _ := cur.Update(s.actor, req.Context, req.Value, req.Tombstone)
		if n := len(next.Siblings); n > lim.MaxSiblings {
			return nil, fmt.Errorf("%w: the write would leave %d siblings (limit %d); read the key and write back a resolved value with its context",
				wire.ErrSiblingLimit, n, lim.MaxSiblings)
		} else if n > lim.MaxSiblings/4 {
			s.log.Warn("many siblings", "key", fmt.Sprintf("%q", req.Key), "siblings", n, "limit", lim.MaxSiblings)
		}
		b, err := msgpack.Marshal(&next)
		if err != nil {
			return nil, fmt.Errorf("encode object: %w", err)
		}
		if len(b) > lim.MaxObject {
			return nil, fmt.Errorf("%w: the write would make a %d-byte object (limit %d); resolve siblings", wire.ErrTooLarge, len(b), lim.MaxObject)
		}
		out = next
		return b, nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	return &wire.Object{Object: out}, nil
}

// merge syncs a replica's object into the local one and persists the result
// (never an overwrite: paper §4.4 reconciliation with DVV semantics).
func (s *Server) merge(ctx context.Context, key []byte, obj dvv.Set) (any, error) {
	lim := s.cfg.Limits
	if err := errors.Join(lim.CheckKey(key), lim.CheckObject(obj)); err != nil {
		return nil, err
	}
	err := s.st.Apply(ctx, store.Objects, key, func(old []byte) ([]byte, error) {
		cur, err := decodeObject(old)
		if err != nil {
			return nil, err
		}
		next := dvv.Merge(cur, obj)
		if old != nil && next.Equal(cur) {
			return nil, nil // nothing new; what we hold is already durable
		}
		b, err := msgpack.Marshal(&next)
		if err != nil {
			return nil, fmt.Errorf("encode object: %w", err)
		}
		return b, nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	return &wire.Ack{}, nil
}

func (s *Server) get(req *wire.Get) (any, error) {
	if err := s.cfg.Limits.CheckKey(req.Key); err != nil {
		return nil, err
	}
	b, err := s.st.Get(store.Objects, req.Key)
	if errors.Is(err, store.ErrNotFound) {
		return &wire.GetOK{}, nil
	}
	if err != nil {
		return nil, storeErr(err)
	}
	obj, err := decodeObject(b)
	if err != nil {
		return nil, err
	}
	return &wire.GetOK{Found: true, Object: obj}, nil
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
	return &wire.StatusOK{
		Node:        s.cfg.ID,
		Addr:        s.ep.Addr().String(),
		Epoch:       s.actor.Epoch,
		RingVersion: s.ring.Load().Version(),
		Objects:     uint64(objects),
		Hints:       uint64(hints),
		UptimeMS:    uint64(time.Since(s.started).Milliseconds()),
		Commits:     st.Commits,
		Writes:      st.Writes,
	}, nil
}

// decodeObject decodes a stored object; nil means the key is absent.
func decodeObject(b []byte) (dvv.Set, error) {
	var obj dvv.Set
	if b == nil {
		return obj, nil
	}
	if err := msgpack.Unmarshal(b, &obj); err != nil {
		return obj, fmt.Errorf("%w: stored object is corrupt: %w", wire.ErrStorage, err)
	}
	return obj, nil
}

// storeErr tags persistence failures so clients see CodeStorage; errors our
// own mutation functions returned keep their codes.
func storeErr(err error) error {
	switch {
	case errors.Is(err, wire.ErrSiblingLimit), errors.Is(err, wire.ErrTooLarge),
		errors.Is(err, wire.ErrBadRequest), errors.Is(err, wire.ErrStorage):
		return err
	case errors.Is(err, store.ErrClosed):
		return fmt.Errorf("%w: %w", wire.ErrShuttingDown, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%w: %w", wire.ErrStorage, err)
}
