package driver

import (
	"bytes"
	"context"
	"fmt"

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
	t    target
	resp wire.GetOK
	err  error
}

// read asks the key's sloppy quorum (see Config.ReadAll) and merges the first
// R answers, at least PR of them from primaries. Candidates are the plan's
// slots (nodes believed up first), then the unused fallbacks: a fallback
// answers with what it holds for the key, hints included, so a read finds a
// write that only stand-ins hold while its primaries are down; last, the
// primaries believed down, for a read that needs primaries (PR). When
// primaries are what is short, the next primary is asked, not just the next
// candidate. Primaries whose answer was stale get the merged object
// afterwards (read repair).
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
	p := c.plan(key)
	cands := p.readCandidates()
	r := min(o.r, len(p.slots))
	pr := min(o.pr, r)
	if r < 1 {
		return dvv.Set{}, fmt.Errorf("driver: r=%d: %w", o.r, ErrUnavailable)
	}
	answers := make(chan answer, len(cands))
	req := &wire.Get{Key: key}
	asked, askedP := 0, 0
	used := make([]bool, len(cands))
	// next is the first candidate not yet asked, or with primary set the
	// first such primary; -1 when there is none.
	next := func(primary bool) int {
		for i, t := range cands {
			if !used[i] && (!primary || t.primary()) {
				return i
			}
		}
		return -1
	}
	ask := func(i int) {
		t := cands[i]
		used[i] = true
		asked++
		if t.primary() {
			askedP++
		}
		go func() {
			// The attempt outlives the read (by CoordinatorTimeout at most,
			// which call enforces): a replica still silent when the quorum
			// answered must show up in the failure detector, or a paused
			// node would stay believed up while every read of its keys
			// waited for speculation.
			a := answer{t: t}
			a.err = c.call(context.WithoutCancel(ctx), t.node, req, &a.resp)
			answers <- a // buffered for every candidate: never blocks
		}()
	}
	first := r
	if c.cfg.ReadAll {
		first = len(p.slots)
	}
	for asked < first {
		ask(next(false))
	}
	spec := c.clock.NewTimer(c.cfg.SpeculativeDelay)
	defer spec.Stop()
	var (
		merged                     dvv.Set
		got, gotP, failed, failedP int
		causes                     []ReplicaError
		seen                       []answer // successful answers from primaries, for repair
	)
	met := func() bool { return got >= r && gotP >= pr }
	for !met() {
		// Ask another candidate when those outstanding cannot meet the
		// quorum even if they all answer: any one when answers are short, a
		// primary when primaries are.
		out, outP := asked-got-failed, askedP-gotP-failedP
		if short, shortP := got+out < r, gotP+outP < pr; short || shortP {
			if i := next(shortP && !short); i >= 0 {
				ask(i)
				continue
			}
			if out == 0 {
				break
			}
		}
		select {
		case a := <-answers:
			if a.err != nil {
				failed++
				if a.t.primary() {
					failedP++
				}
				causes = append(causes, ReplicaError{Node: a.t.node.ID, Err: a.err})
				continue
			}
			got++
			if a.t.primary() {
				gotP++
				seen = append(seen, a)
			}
			if a.resp.Found {
				merged = dvv.Merge(merged, a.resp.Object)
			}
		case <-spec.C():
			// Speculate with a primary while the primaries asked cannot
			// make PR, with anyone otherwise.
			if i := next(askedP-failedP < pr); i >= 0 {
				ask(i)
				spec.Reset(c.cfg.SpeculativeDelay)
			}
		case <-ctx.Done():
			causes = append(causes, ReplicaError{Node: callWide, Err: ctx.Err()})
			return dvv.Set{}, &QuorumError{Op: "get", Needed: r, Acked: got, NeededPrimary: pr, AckedPrimary: gotP, Causes: sortCauses(causes)}
		}
	}
	if !met() {
		return dvv.Set{}, &QuorumError{Op: "get", Needed: r, Acked: got, NeededPrimary: pr, AckedPrimary: gotP, Causes: sortCauses(causes)}
	}
	c.repair(key, merged, seen)
	return merged, nil
}
