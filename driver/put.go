package driver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Put writes value under key, superseding the versions that ctx (from a Get)
// covers; versions written concurrently stay as siblings. It returns the
// context of the stored object, so a sequence of writes by one caller can
// chain without reading. Success means W replicas, the coordinator included,
// hold the write durably; a *QuorumError (matching ErrUnavailable) means fewer
// did, though some may have.
func (c *Client) Put(ctx context.Context, key, value []byte, cctx Context, opts ...Option) (Context, error) {
	if err := c.cfg.Limits.CheckValue(value); err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	vv, err := decodeContext(cctx)
	if err != nil {
		return nil, err
	}
	obj, err := c.write(ctx, "put", key, value, false, vv, c.options(opts))
	if err != nil {
		return nil, err
	}
	return encodeContext(obj.VV), nil
}

// Delete writes a tombstone under key superseding what ctx covers. A later
// Get returns ErrNotFound unless a concurrent write survives.
func (c *Client) Delete(ctx context.Context, key []byte, cctx Context, opts ...Option) error {
	vv, err := decodeContext(cctx)
	if err != nil {
		return err
	}
	_, err = c.write(ctx, "delete", key, nil, true, vv, c.options(opts))
	return err
}

// write coordinates at the first replica that accepts, then replicates to
// the others and waits for W durable acknowledgements in all. vv is the
// causal context the write supersedes.
func (c *Client) write(ctx context.Context, op string, key, value []byte, tomb bool, vv dvv.VV, o callOptions) (dvv.Set, error) {
	if c.closed.Load() {
		return dvv.Set{}, ErrClosed
	}
	if err := c.cfg.Limits.CheckKey(key); err != nil {
		return dvv.Set{}, fmt.Errorf("driver: %w", err)
	}
	if err := c.cfg.Limits.CheckContext(vv); err != nil {
		return dvv.Set{}, fmt.Errorf("driver: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	replicas := c.replicas(key)
	w := min(o.w, len(replicas))
	if w < 1 {
		return dvv.Set{}, fmt.Errorf("driver: w=%d: %w", o.w, ErrUnavailable)
	}
	req := &wire.Coordinate{Key: key, Value: value, Tombstone: tomb, Context: vv}
	obj, coord, causes, err := c.coordinate(ctx, req, replicas)
	if err != nil {
		return dvv.Set{}, err
	}
	if coord.ID == "" {
		return dvv.Set{}, &QuorumError{Op: op, Needed: w, Acked: 0, Causes: sortCauses(causes)}
	}
	others := make([]ring.Node, 0, len(replicas)-1)
	for _, n := range replicas {
		if n.ID != coord.ID {
			others = append(others, n)
		}
	}
	acked, rcauses := c.replicate(ctx, key, obj, others, w-1)
	if acked+1 < w {
		return dvv.Set{}, &QuorumError{Op: op, Needed: w, Acked: acked + 1, Causes: sortCauses(append(causes, rcauses...))}
	}
	return obj, nil
}

// coordinate tries replicas (those believed up first) until one records the
// write. A refusal that another replica would repeat (bad input, limits)
// ends the attempt with that error.
func (c *Client) coordinate(ctx context.Context, req *wire.Coordinate, replicas []ring.Node) (dvv.Set, ring.Node, []ReplicaError, error) {
	var causes []ReplicaError
	for _, n := range c.health.order(replicas, time.Now()) {
		actx, cancel := context.WithTimeout(ctx, c.cfg.CoordinatorTimeout)
		var resp wire.Object
		err := c.call(actx, n, req, &resp)
		cancel()
		if err == nil {
			return resp.Object, n, causes, nil
		}
		if final(err) {
			return dvv.Set{}, ring.Node{}, nil, fmt.Errorf("driver: %s refused the write: %w", n.ID, err)
		}
		causes = append(causes, ReplicaError{Node: n.ID, Err: err})
		if ctx.Err() != nil {
			break
		}
	}
	return dvv.Set{}, ring.Node{}, causes, nil
}

// replicate sends obj to every node in parallel and returns once need of
// them acknowledged, or all answered, or ctx ended. Sends still in flight
// then continue in the background (bounded by the call timeout), so every
// replica gets the write even though the caller only waited for a quorum.
func (c *Client) replicate(ctx context.Context, key []byte, obj dvv.Set, nodes []ring.Node, need int) (int, []ReplicaError) {
	if len(nodes) == 0 {
		return 0, nil
	}
	type result struct {
		node ring.NodeID
		err  error
	}
	results := make(chan result, len(nodes))
	deadline, _ := ctx.Deadline()
	req := &wire.Replicate{Key: key, Object: obj}
	for _, n := range nodes {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			bctx, cancel := context.WithDeadline(c.ctx, deadline)
			defer cancel()
			err := c.call(bctx, n, req, &wire.Ack{})
			results <- result{n.ID, err}
		}()
	}
	acked := 0
	var causes []ReplicaError
	for range nodes {
		if acked >= need {
			break
		}
		select {
		case r := <-results:
			if r.err == nil {
				acked++
			} else {
				causes = append(causes, ReplicaError{Node: r.node, Err: r.err})
			}
		case <-ctx.Done():
			return acked, append(causes, ReplicaError{Node: "*", Err: ctx.Err()})
		}
	}
	return acked, causes
}

// final reports refusals that are the caller's to fix, not a replica's fault.
func final(err error) bool {
	return errors.Is(err, wire.ErrBadRequest) || errors.Is(err, wire.ErrTooLarge) ||
		errors.Is(err, wire.ErrSiblingLimit) || errors.Is(err, wire.ErrForbidden) ||
		errors.Is(err, wire.ErrMismatch)
}

func sortCauses(cs []ReplicaError) []ReplicaError {
	slices.SortStableFunc(cs, func(a, b ReplicaError) int {
		switch {
		case a.Node < b.Node:
			return -1
		case a.Node > b.Node:
			return 1
		}
		return 0
	})
	return cs
}
