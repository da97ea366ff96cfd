package memstore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/shoalkv/shoal/storaged/store"
)

// Options configures a Store. The zero value is the durable default of
// *store.Store: every batch synced before its writers are answered,
// instantly, batches of up to store.DefaultMaxBatch writes, epochs from
// crypto/rand, logging to slog.Default().
type Options struct {
	// NoSync answers a batch's writers as soon as it is committed (visible),
	// before it is synced, like store.Options.NoSync on a machine that may
	// lose power: Disk.Crash may lose acknowledged writes, the durability a
	// node trades for latency (Dynamo paper, section 6.1). A writeback
	// goroutine syncs them in the background: each round takes every batch
	// committed so far and marks it synced SyncLatency later.
	NoSync bool

	// SyncLatency is how long one sync takes: the commit goroutine (or,
	// under NoSync, the writeback goroutine) sleeps that long, in virtual
	// time inside a testing/synctest bubble. A batch is visible to reads
	// while its sync is in progress, and lost or kept at random if the
	// store crashes meanwhile. Zero means instant; negative is invalid.
	SyncLatency time.Duration

	// MaxBatch is the most writes one batch (and so one sync) carries. Zero
	// means store.DefaultMaxBatch; 1 disables group commit.
	MaxBatch int

	// Rand is where a new epoch's bits come from (default crypto/rand's
	// Reader); the simulator passes a seeded source.
	Rand io.Reader

	// Logger receives commit failures, panics in Apply functions and new
	// epochs. Nil means slog.Default().
	Logger *slog.Logger

	// Partition and Partitions lay the Objects bucket out by partition, as
	// store.Options's fields of the same names do (both zero: one
	// partition). The Disk records the count, and a later Open with
	// another one fails with an error matching store.ErrPartitions.
	Partition  func(key []byte) int
	Partitions int
}

// Validate reports every problem with o at once (errors.Join), or nil.
func (o Options) Validate() error {
	var errs []error
	if o.MaxBatch < 0 || o.MaxBatch > store.MaxBatchLimit {
		errs = append(errs, fmt.Errorf("memstore: MaxBatch is %d, want 0 (default %d) to %d", o.MaxBatch, store.DefaultMaxBatch, store.MaxBatchLimit))
	}
	if o.SyncLatency < 0 {
		errs = append(errs, fmt.Errorf("memstore: SyncLatency is %s, want at least 0", o.SyncLatency))
	}
	if _, err := store.NewPartitioning(o.Partition, o.Partitions); err != nil {
		errs = append(errs, fmt.Errorf("memstore: %w", err))
	}
	return errors.Join(errs...)
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.MaxBatch == 0 {
		o.MaxBatch = store.DefaultMaxBatch
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
