package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
)

// OpenError is Open's failure to get the ring from any seed. It matches
// ErrUnavailable with errors.Is, and unwraps to each seed's error.
type OpenError struct {
	// Waited is how long Open waited for the seeds.
	Waited time.Duration
	// Causes are the seeds' errors, in the order of Config.Seeds; Node is
	// the seed's address.
	Causes []ReplicaError
	// Down is set when no seed answered at all (each call timed out or
	// could not connect) rather than refused: the cluster looks down, or
	// the seeds name the wrong addresses.
	Down bool
}

func (e *OpenError) Error() string {
	var b strings.Builder
	if e.Down {
		fmt.Fprintf(&b, "driver: none of %d seeds answered within %v: the cluster looks down", len(e.Causes), e.Waited.Round(10*time.Millisecond))
	} else {
		fmt.Fprintf(&b, "driver: no seed of %d answered with a ring", len(e.Causes))
	}
	writeCauses(&b, e.Causes)
	return b.String()
}

// Is makes every OpenError match ErrUnavailable.
func (e *OpenError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap exposes the seeds' errors to errors.Is and errors.As.
func (e *OpenError) Unwrap() []error {
	errs := make([]error, len(e.Causes))
	for i, c := range e.Causes {
		errs[i] = c.Err
	}
	return errs
}

// errEmptyRing is a seed's answer without a ring.
var errEmptyRing = errors.New("empty ring")

// seedReply is how one seed's ring request ended.
type seedReply struct {
	i    int // the seed's index in Config.Seeds
	ring *ring.Ring
	took time.Duration
	err  error
}

// openRing asks every seed for the ring at once, within ctx and Timeout,
// and returns the first ring answered; the other requests are cancelled
// and joined before it returns. The answering seed's latency is the
// failure detector's first measurement of its node.
func (c *Client) openRing(ctx context.Context) (*ring.Ring, error) {
	seeds := c.cfg.Seeds
	start := c.clock.Now()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	replies := make(chan seedReply, len(seeds))
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (deferred later, run first)
	defer cancel()
	for i, a := range seeds {
		wg.Go(func() {
			var resp wire.RingOK
			err := c.ep.Call(ctx, a, "", &wire.RingReq{}, &resp)
			if err == nil && resp.Ring == nil {
				err = errEmptyRing
			}
			replies <- seedReply{i: i, ring: resp.Ring, took: c.clock.Now().Sub(start), err: err}
		})
	}
	e := &OpenError{Causes: make([]ReplicaError, len(seeds)), Down: true}
	for range seeds {
		rp := <-replies
		if rp.err == nil {
			for _, n := range rp.ring.Nodes() {
				if n.Addr == seeds[rp.i] {
					c.health.answered(n.ID, rp.took, c.clock.Now())
				}
			}
			return rp.ring, nil
		}
		e.Causes[rp.i] = ReplicaError{Node: ring.NodeID(seeds[rp.i]), Err: rp.err}
		var re *wire.RemoteError
		if errors.As(rp.err, &re) || errors.Is(rp.err, errEmptyRing) || wire.ClassOf(rp.err).Final() {
			e.Down = false // it answered, or the call was refused: not a silent cluster
		}
	}
	e.Waited = c.clock.Now().Sub(start)
	return nil, e
}
