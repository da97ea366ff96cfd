package stage

import (
	"errors"
	"fmt"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// DefaultN is the replica count used when Options.N is zero: Dynamo's common
// configuration (§6).
const DefaultN = 3

// MaxN bounds Options.N.
const MaxN = 16

// Options are the inputs of planning and committing besides the state. The
// zero value means N = DefaultN, no byte estimates and every node live.
type Options struct {
	// N is the number of replicas of each key: a partition's replica set is
	// the first N distinct owners of its preference list. Zero means
	// DefaultN. It must be the cluster's N: the transfers depend on it.
	N int
	// Size returns the bytes one replica of partition p holds (from
	// anti-entropy counts, say). Nil means unknown: byte estimates are 0.
	Size func(p int) int64
	// Live reports whether a node is up, by the failure detector. Nil means
	// every node is. A plan's risk list counts only live replicas, and a
	// commit needs every member that must confirm to be live.
	Live func(id ring.NodeID) bool
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	if o.N < 0 || o.N > MaxN {
		errs = append(errs, fmt.Errorf("%w: N is %d, want 0 to %d", ErrOptions, o.N, MaxN))
	}
	return errors.Join(errs...)
}

func (o Options) n() int {
	if o.N == 0 {
		return DefaultN
	}
	return o.N
}

func (o Options) size(p int) int64 {
	if o.Size == nil {
		return 0
	}
	return o.Size(p)
}

func (o Options) live(id ring.NodeID) bool { return o.Live == nil || o.Live(id) }
