package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

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

// write coordinates at the first slot of the key's sloppy quorum that
// accepts, then replicates to the other slots and waits for W durable
// acknowledgements in all, at least PW of them from primaries. vv is the
// causal context the write supersedes.
func (c *Client) write(ctx context.Context, op string, key, value []byte, tomb bool, vv dvv.VV, o callOptions) (dvv.Set, error) {
	if c.closed.Load() {
		return dvv.Set{}, ErrClosed
	}
	if err := c.cfg.Limits.CheckKey(key); err != nil {
		return dvv.Set{}, fmt.Errorf("driver: %w", err)
	}
	key = bytes.Clone(key) // replication goes on after we return; the caller may reuse its slice
	if err := c.cfg.Limits.CheckContext(vv); err != nil {
		return dvv.Set{}, fmt.Errorf("driver: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	p := c.plan(key)
	q := quorum{need: min(o.w, len(p.slots)), needPrimary: min(o.pw, len(p.slots))}
	if q.need < 1 {
		return dvv.Set{}, fmt.Errorf("driver: w=%d: %w", o.w, ErrUnavailable)
	}
	req := &wire.Coordinate{Key: key, Value: value, Tombstone: tomb, Context: vv}
	obj, coord, causes, err := c.coordinate(ctx, req, p)
	if err != nil {
		return dvv.Set{}, err
	}
	if coord < 0 {
		return dvv.Set{}, &QuorumError{Op: op, Needed: q.need, Causes: sortCauses(causes), Unknown: anyMayHaveApplied(causes)}
	}
	q.add(p.slot(coord))
	others := make([]int, 0, len(p.slots)-1)
	for i := range p.slots {
		if i != coord {
			others = append(others, i)
		}
	}
	rcauses := c.replicate(ctx, key, obj, p, others, &q)
	if !q.met() {
		// The coordinator holds the write durably: it may yet spread (read
		// repair, hints), so the outcome is unknown rather than refused.
		return dvv.Set{}, &QuorumError{Op: op, Needed: q.need, Acked: q.acked, NeededPrimary: q.needPrimary,
			AckedPrimary: q.primaries, Causes: sortCauses(append(causes, rcauses...)), Unknown: true}
	}
	return obj, nil
}

// quorum tallies durable acknowledgements of one write.
type quorum struct {
	need, needPrimary int
	acked, primaries  int
}

func (q *quorum) add(t target) {
	q.acked++
	if t.primary() {
		q.primaries++
	}
}

func (q *quorum) met() bool { return q.acked >= q.need && q.primaries >= q.needPrimary }

// coordinate asks the plan's slots in order until one records the write;
// a slot whose node fails is given a spare (a hinted stand-in) and asked
// again after the others. It returns the slot index, or -1 with the causes
// when no node recorded the write. A refusal that another node would repeat
// (bad input, limits) ends the attempt with that error.
func (c *Client) coordinate(ctx context.Context, req *wire.Coordinate, p *plan) (dvv.Set, int, []ReplicaError, error) {
	var causes []ReplicaError
	queue := p.coordinationOrder()
	for len(queue) > 0 && ctx.Err() == nil {
		i := queue[0]
		queue = queue[1:]
		t := p.slot(i)
		req.HintFor = string(t.hintFor)
		var resp wire.Object
		err := c.call(ctx, t.node, req, &resp)
		if err == nil {
			return resp.Object, i, causes, nil
		}
		if final(err) {
			if anyMayHaveApplied(causes) {
				// An earlier node may hold the write: not a plain refusal.
				return dvv.Set{}, -1, append(causes, ReplicaError{Node: t.node.ID, Err: err}), nil
			}
			return dvv.Set{}, -1, nil, fmt.Errorf("driver: %s refused the write: %w", t.node.ID, err)
		}
		causes = append(causes, ReplicaError{Node: t.node.ID, Err: err})
		if _, ok := p.replace(i); ok {
			queue = append(queue, i)
		}
	}
	if err := ctx.Err(); err != nil {
		causes = append(causes, ReplicaError{Node: callWide, Err: err})
	}
	return dvv.Set{}, -1, causes, nil
}

// replicate sends obj to the given slots in parallel, each slot moving on to
// a spare (with a hint) when its node fails or does not answer within
// CoordinatorTimeout, and returns once q is met, or every slot finished, or
// ctx ended. Sends still in flight then continue in the background (bounded
// by the call's deadline), so every slot gets the write even though the
// caller only waited for a quorum.
func (c *Client) replicate(ctx context.Context, key []byte, obj dvv.Set, p *plan, slots []int, q *quorum) []ReplicaError {
	if len(slots) == 0 {
		return nil
	}
	type result struct {
		t      target
		causes []ReplicaError
		ok     bool
	}
	results := make(chan result, len(slots))
	deadline, _ := ctx.Deadline()
	for _, i := range slots {
		started := c.spawn(func() {
			// Not ended by Close: Close waits for these sends instead,
			// so a client closed right after a put still leaves N copies.
			bctx, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()
			t, causes, ok := c.replicateSlot(bctx, key, obj, p, i)
			results <- result{t, causes, ok}
		})
		if !started {
			results <- result{p.slot(i), []ReplicaError{{Node: p.slot(i).node.ID, Err: ErrClosed}}, false}
		}
	}
	var causes []ReplicaError
	for range slots {
		if q.met() {
			break
		}
		select {
		case r := <-results:
			causes = append(causes, r.causes...)
			if r.ok {
				q.add(r.t)
			}
		case <-ctx.Done():
			return append(causes, ReplicaError{Node: callWide, Err: ctx.Err()})
		}
	}
	return causes
}

// replicateSlot gets obj durably onto slot i: its current node first, then
// spares until one acknowledges or none is left.
func (c *Client) replicateSlot(ctx context.Context, key []byte, obj dvv.Set, p *plan, i int) (target, []ReplicaError, bool) {
	var causes []ReplicaError
	t := p.slot(i)
	for {
		err := c.call(ctx, t.node, &wire.Replicate{Key: key, Object: obj, HintFor: string(t.hintFor)}, &wire.Ack{})
		if err == nil {
			return t, causes, true
		}
		causes = append(causes, ReplicaError{Node: t.node.ID, Err: err})
		if final(err) || ctx.Err() != nil {
			return t, causes, false
		}
		var ok bool
		if t, ok = p.replace(i); !ok {
			return t, causes, false
		}
	}
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
