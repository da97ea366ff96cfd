package driver

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/shoalkv/shoal/driver/coord"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/clock"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Versions is what a Get returns: every concurrent value (siblings, in a
// deterministic order, equal values once) and the one context that covers
// them all.
type Versions struct {
	Values  [][]byte
	Context Context
}

// Get reads key from the replicas and answers once R of them have. The
// answers are merged, so a value that any of the R replicas holds and no
// other supersedes is returned. ErrNotFound (with a Versions whose Context
// covers any tombstones) when no live value exists.
func (c *Client) Get(ctx context.Context, key []byte, opts ...Option) (Versions, error) {
	obj, err := c.read(ctx, key, c.options(opts))
	if err != nil {
		return Versions{}, err
	}
	v := Versions{Values: distinct(obj.Values()), Context: encodeContext(obj.VV)}
	if !obj.Live() {
		return v, ErrNotFound
	}
	return v, nil
}

// answer is how one read send ended.
type answer struct {
	id   coord.SendID
	resp wire.GetOK
	err  error
}

// read asks the key's sloppy quorum (see Config.ReadAll, ReadInOrder) and
// merges the first R answers, at least PR of them from primaries: the
// rules, and whom to ask when (the plan's slots, rotated per attempt, then
// the unused fallbacks, then the primaries believed down), are coord.Read's;
// this runs its sends and its speculative timer. Primaries whose answer was stale get the merged object afterwards
// (read repair). An attempt that fell short for want of answers is made
// again until the deadline (retry.go).
func (c *Client) read(ctx context.Context, key []byte, o callOptions) (dvv.Set, error) {
	if c.closed.Load() {
		return dvv.Set{}, ErrClosed
	}
	if err := c.cfg.Limits.CheckKey(key); err != nil {
		return dvv.Set{}, fmt.Errorf("driver: %w", err)
	}
	key = bytes.Clone(key) // repairs and late answers outlive the call
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req := &wire.Get{Key: key}
	for attempt := 0; ; attempt++ {
		res, err := c.readOnce(ctx, req, o)
		if err != nil {
			return dvv.Set{}, err
		}
		if res.Verdict == coord.Succeeded {
			c.repair(key, res.Object, res.Repairs)
			return res.Object, nil
		}
		if !retryable(res.Failure) {
			return dvv.Set{}, quorumError("get", res.Failure)
		}
		if !c.pause(ctx, attempt) {
			return dvv.Set{}, quorumError("get", gaveUp(ctx, res.Failure))
		}
	}
}

// readOnce makes one attempt at a read: a plan under the failure
// detector's current beliefs, run by coord.Read to its result.
func (c *Client) readOnce(ctx context.Context, req *wire.Get, o callOptions) (coord.ReadResult, error) {
	p := c.plan(req.Key)
	q := coord.ReadQuorum(o.r, o.pr, p.Len())
	if q.Need < 1 {
		return coord.ReadResult{}, fmt.Errorf("driver: r=%d: %w", o.r, ErrUnavailable)
	}
	m := coord.NewRead(p, q, c.readOptions())
	answers := make(chan answer, m.Candidates()) // buffered for every candidate: a late answer never blocks
	var spec clock.Timer
	defer func() {
		if spec != nil {
			spec.Stop()
		}
	}()
	var tick <-chan time.Time
	for {
		rd := m.Ready()
		for _, s := range rd.Sends {
			go func() {
				// The attempt outlives the read (by the attempt limit at
				// most, which call enforces): a replica still silent when
				// the quorum answered must show up in the failure detector,
				// or a paused node would stay believed up while every read
				// of its keys waited for speculation.
				a := answer{id: s.ID}
				a.err = c.call(context.WithoutCancel(ctx), s.To.Node, req, &a.resp)
				answers <- a
			}()
		}
		if rd.Arm {
			if spec == nil {
				spec = c.clock.NewTimer(c.cfg.SpeculativeDelay)
				tick = spec.C()
			} else {
				spec.Reset(c.cfg.SpeculativeDelay)
			}
		}
		if rd.Result.Verdict != coord.Pending {
			return rd.Result, nil
		}
		select {
		case a := <-answers:
			m.Answer(a.id, coord.Answer{Err: a.err, Found: a.resp.Found, Object: a.resp.Object})
		case <-tick:
			m.Tick()
		case <-ctx.Done():
			m.Abandon(ctx.Err())
		}
	}
}

// readOptions are one read attempt's choices: whom to ask first is drawn
// afresh each time (Config.ReadAll, ReadInOrder).
func (c *Client) readOptions() coord.ReadOptions {
	o := coord.ReadOptions{All: c.cfg.ReadAll}
	if !c.cfg.ReadInOrder {
		// Any value will do: coord takes it modulo the replicas believed
		// up, and from a range this wide the bias is below 2^-50.
		o.Rotate = uint64(c.rand.Int64N(1 << 62))
	}
	return o
}
