package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
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

	// DefaultGroupWait is the GroupWait used when Options.GroupWait is
	// zero. It is a fraction of one commit (two fsyncs: 0.6 to 2 ms on the
	// 2-core VM of docs/BENCHMARKS.md), so a writer that waits loses less
	// than the commit it would otherwise queue behind, while writers that
	// come back spread over a few hundred microseconds share one fsync
	// instead of two. Measured there with 64 concurrent writers: twice the
	// writes per commit and about a quarter less time per write; 500 µs did
	// no better than 200 µs.
	DefaultGroupWait = 200 * time.Microsecond

	// MaxGroupWait is the largest accepted Options.GroupWait.
	MaxGroupWait = 10 * time.Millisecond

	// groupMin is the size of the previous batch from which the loop
	// takes the writers to be concurrent and may wait for company.
	groupMin = 4
	// idleGroups: a loop idle for longer than this many GroupWaits since
	// its last commit forgets that batch, so a lone write after a quiet
	// spell never waits for company that left (writers coming back from a
	// commit arrive well within it).
	idleGroups = 10
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

	// GroupWait bounds how long the commit loop waits for company under
	// concurrent load. When the previous batch carried at least 4 writes
	// and the loop now holds fewer than half as many, it keeps collecting
	// writes until it holds as many as the previous batch, for at most
	// GroupWait, before it commits.
	// A lone writer, and writers that come one at a time, never wait: their
	// previous batch carried one write. Zero means DefaultGroupWait; a
	// negative value turns the wait off (every batch commits as soon as the
	// loop has taken what is queued).
	GroupWait time.Duration

	// Logger receives commit failures and epoch changes. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Rand is where a new epoch's bits come from (default crypto/rand's
	// Reader); the simulator passes a seeded source.
	Rand io.Reader

	// Partition returns the partition of an Objects key (the ring's
	// PartitionOf), and Partitions is how many there are (fixed for the
	// life of the cluster, 1 to MaxPartitions). Objects are stored under a
	// prefix naming their partition, so one partition is one range scan
	// (ScanPartition). Both zero: one partition, every key in it (tests).
	// The count is recorded in the file, and Open refuses a file recorded
	// with another one (ErrPartitions): it must be opened with the same
	// function every time.
	Partition  func(key []byte) int
	Partitions int
}

// Validate reports every problem with o at once (errors.Join), or nil.
func (o Options) Validate() error {
	var errs []error
	if o.MaxBatch < 0 || o.MaxBatch > MaxBatchLimit {
		errs = append(errs, fmt.Errorf("store: MaxBatch is %d, want 0 (default %d) to %d", o.MaxBatch, DefaultMaxBatch, MaxBatchLimit))
	}
	if o.GroupWait > MaxGroupWait {
		errs = append(errs, fmt.Errorf("store: GroupWait is %s, want at most %s (0: default %s; negative: off)", o.GroupWait, MaxGroupWait, DefaultGroupWait))
	}
	if _, err := NewPartitioning(o.Partition, o.Partitions); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.GroupWait == 0 {
		o.GroupWait = DefaultGroupWait
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}
