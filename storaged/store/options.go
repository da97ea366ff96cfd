package store

import (
	"errors"
	"fmt"
	"log/slog"
)

const (
	// DefaultMaxBatch is the MaxBatch used when Options.MaxBatch is zero.
	// It is far above the number of writers a storage daemon runs at once,
	// so batches are normally limited by what is queued, not by the cap;
	// the cap only bounds the memory of one transaction's dirty pages and
	// the latency of a batch's first writer under overload.
	DefaultMaxBatch = 512

	// MaxBatchLimit is the largest accepted Options.MaxBatch.
	MaxBatchLimit = 1 << 16
)

// Options configures a Store. The zero value is the durable default:
// fsync on every commit, batches of up to DefaultMaxBatch writes, logging to
// slog.Default().
type Options struct {
	// NoSync skips fsync on commit (bbolt's NoSync). Acknowledged writes
	// survive a process crash but may be lost on an operating system crash
	// or power failure. Meant for tests and an explicit non-durable mode.
	NoSync bool

	// MaxBatch is the most writes one transaction (and so one fsync)
	// carries. Zero means DefaultMaxBatch. 1 disables group commit: one
	// fsync per write, the baseline in benchmarks.
	MaxBatch int

	// Logger receives commit failures and epoch changes. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem with o at once (errors.Join), or nil.
func (o Options) Validate() error {
	var errs []error
	if o.MaxBatch < 0 || o.MaxBatch > MaxBatchLimit {
		errs = append(errs, fmt.Errorf("store: MaxBatch is %d, want 0 (default %d) to %d", o.MaxBatch, DefaultMaxBatch, MaxBatchLimit))
	}
	return errors.Join(errs...)
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
