package driver

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/shoalkv/shoal/driver/coord"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Put writes value under key, superseding the versions that ctx (from a Get)
// covers; versions written concurrently stay as siblings. It returns the
// context of the stored object, so a sequence of writes by one caller can
// chain without reading. Success means W replicas, the coordinator included,
// hold the write durably; a *QuorumError (matching ErrUnavailable) means fewer
// did, though some may have. A primary believed down, or failing, with no
// fallback left to stand in for it (a cluster of N nodes, one down) gets the
// write later from a hint the coordinator keeps for it; that hinted copy
// does not count toward W or PW.
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
// acknowledgements in all, at least PW of them from primaries: the rules
// are coord.Write's; this runs its sends. vv is the causal context the
// write supersedes. An attempt that fell short for want of answers is made
// again until the deadline (retry.go): a write whose earlier attempt may
// have been applied may then hold the value twice, as siblings with equal
// bytes, which reads fold (see ErrUnknownOutcome); its error, if it still
// fails, says Unknown.
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
	req := &wire.Coordinate{Key: key, Value: value, Tombstone: tomb, Context: vv}
	unknown := false // an earlier attempt may have applied the write
	for attempt := 0; ; attempt++ {
		res, err := c.writeOnce(ctx, req, o)
		if err != nil {
			return dvv.Set{}, err
		}
		switch res.Verdict {
		case coord.Succeeded:
			return res.Object, nil
		case coord.Refused:
			if !unknown {
				return dvv.Set{}, fmt.Errorf("driver: %s refused the write: %w", res.Refusal.Node, res.Refusal.Err)
			}
			res.Failure = coord.Failure{Needed: o.w, Causes: []coord.Cause{res.Refusal}}
		}
		f := res.Failure
		f.Unknown = f.Unknown || unknown
		unknown = f.Unknown
		if res.Verdict == coord.Refused || !retryable(f) {
			return dvv.Set{}, quorumError(op, f)
		}
		if !c.pause(ctx, attempt) {
			return dvv.Set{}, quorumError(op, gaveUp(ctx, f))
		}
	}
}

// writeOnce makes one attempt at a write: a plan under the failure
// detector's current beliefs, run by coord.Write to its result.
func (c *Client) writeOnce(ctx context.Context, req *wire.Coordinate, o callOptions) (coord.WriteResult, error) {
	p := c.plan(req.Key)
	q := coord.WriteQuorum(o.w, o.pw, p.Len())
	if q.Need < 1 {
		return coord.WriteResult{}, fmt.Errorf("driver: w=%d: %w", o.w, ErrUnavailable)
	}
	m := coord.NewWrite(p, q)
	rd, obj := c.coordinate(ctx, m, req)
	if rd.Done {
		return rd.Result, nil
	}
	return c.replicate(ctx, req.Key, obj, m, rd), nil
}

// coordinate makes the write's coordination attempts on the caller's
// goroutine: they go one at a time, and each call observes ctx itself, so
// a goroutine per attempt would only add cost. The caller's end is checked
// between attempts. It returns the first Ready past coordination (the
// result, or the replication sends) and the coordinator's object, if one
// accepted.
func (c *Client) coordinate(ctx context.Context, m *coord.Write, req *wire.Coordinate) (coord.WriteReady, dvv.Set) {
	var obj dvv.Set
	for {
		if err := ctx.Err(); err != nil {
			m.Abandon(err)
		}
		rd := m.Ready()
		if len(rd.Sends) != 1 || rd.Sends[0].Kind != coord.Coordinate {
			return rd, obj
		}
		s := rd.Sends[0]
		req.HintFor = s.To.HintFor
		var resp wire.Object
		err := c.call(ctx, s.To.Node, req, &resp)
		if err == nil {
			obj = resp.Object
		}
		m.Answer(s.ID, coord.Answer{Err: err, Object: resp.Object})
	}
}

// replicate runs the write's replication from rd, the Ready that began it,
// and returns the write's result once the machine decides it. The machine
// and its sends move to a goroutine of the client's (Close waits for it),
// which goes on after the result until every slot has the write or gave up
// (coord.WriteReady.Done), so every replica gets it though the caller only
// waited for a quorum. Sends are bounded by the write's deadline, not by
// the caller's cancellation.
func (c *Client) replicate(ctx context.Context, key []byte, obj dvv.Set, m *coord.Write, rd coord.WriteReady) coord.WriteResult {
	result := make(chan coord.WriteResult, 1)
	if c.spawn(func() { c.replicateLoop(ctx, key, obj, m, rd, result) }) {
		return <-result
	}
	// Closed: no send is made, and no slot moves to a spare.
	m.Expire()
	for _, s := range rd.Sends {
		m.Answer(s.ID, coord.Answer{Err: ErrClosed})
	}
	return m.Ready().Result
}

// sent is how one replicate send ended.
type sent struct {
	id  coord.SendID
	err error
}

// replicateLoop owns m from rd on: it makes the sends, feeds their answers
// and the caller's end (ctx) into m, delivers the result once to result,
// and returns when m is Done.
func (c *Client) replicateLoop(ctx context.Context, key []byte, obj dvv.Set, m *coord.Write, rd coord.WriteReady, result chan<- coord.WriteResult) {
	// Not ended by Close: Close waits for these sends instead, so a client
	// closed right after a put still leaves N copies.
	deadline, _ := ctx.Deadline()
	bctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// Never more sends are out than at the start: a slot has one replicate
	// out at a time, and the hint the coordinator may keep for its owner
	// (coord.Write, step 6) goes out at the start or once that replicate
	// ended; so no sender blocks.
	answers := make(chan sent, len(rd.Sends))
	waiting := ctx.Done()
	for {
		for _, s := range rd.Sends {
			req := &wire.Replicate{Key: key, Object: obj, HintFor: s.To.HintFor}
			// c.wg counts this goroutine already, so Close waits for
			// every send it starts even after Close began.
			c.wg.Go(func() { answers <- sent{s.ID, c.call(bctx, s.To.Node, req, &wire.Ack{})} })
		}
		if waiting != nil && rd.Result.Verdict != coord.Pending {
			result <- rd.Result
			waiting = nil
		}
		if rd.Done {
			return
		}
		select {
		case a := <-answers:
			if a.err != nil && bctx.Err() != nil {
				m.Expire()
			}
			m.Answer(a.id, coord.Answer{Err: a.err})
		case <-waiting:
			m.Abandon(ctx.Err())
		}
		rd = m.Ready()
	}
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
