package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
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

type answer struct {
	node ring.NodeID
	resp wire.GetOK
	err  error
}

// read asks replicas (see Config.ReadAll) and merges the first R answers.
func (c *Client) read(ctx context.Context, key []byte, o callOptions) (dvv.Set, error) {
	if c.closed.Load() {
		return dvv.Set{}, ErrClosed
	}
	if err := c.cfg.Limits.CheckKey(key); err != nil {
		return dvv.Set{}, fmt.Errorf("driver: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	replicas := c.health.order(c.replicas(key), time.Now())
	r := min(o.r, len(replicas))
	if r < 1 {
		return dvv.Set{}, fmt.Errorf("driver: r=%d: %w", o.r, ErrUnavailable)
	}
	answers := make(chan answer, len(replicas))
	req := &wire.Get{Key: key}
	asked := 0
	ask := func() {
		n := replicas[asked]
		asked++
		go func() {
			a := answer{node: n.ID}
			a.err = c.call(ctx, n, req, &a.resp)
			answers <- a
		}()
	}
	first := r
	if c.cfg.ReadAll {
		first = len(replicas)
	}
	for asked < first {
		ask()
	}
	spec := time.NewTimer(c.cfg.SpeculativeDelay)
	defer spec.Stop()
	var merged dvv.Set
	got, failed := 0, 0
	var causes []ReplicaError
	for got < r {
		if got+(asked-got-failed) < r { // too few outstanding to reach R
			if asked == len(replicas) {
				break
			}
			ask()
			continue
		}
		select {
		case a := <-answers:
			if a.err != nil {
				failed++
				causes = append(causes, ReplicaError{Node: a.node, Err: a.err})
				continue
			}
			got++
			if a.resp.Found {
				merged = dvv.Merge(merged, a.resp.Object)
			}
		case <-spec.C:
			if asked < len(replicas) {
				ask()
				spec.Reset(c.cfg.SpeculativeDelay)
			}
		case <-ctx.Done():
			causes = append(causes, ReplicaError{Node: "*", Err: ctx.Err()})
			return dvv.Set{}, &QuorumError{Op: "get", Needed: r, Acked: got, Causes: sortCauses(causes)}
		}
	}
	if got < r {
		return dvv.Set{}, &QuorumError{Op: "get", Needed: r, Acked: got, Causes: sortCauses(causes)}
	}
	return merged, nil
}
