package handoff

import (
	"errors"
	"time"

	"github.com/shoalkv/shoal/wire"
)

// Config bounds one transfer, on either side. The zero value means the
// defaults.
type Config struct {
	// Window is how many batches the sender may send ahead of the acks
	// (default 4, at most MaxWindow): enough to keep a loopback link busy
	// while the receiver commits one batch, and what a crash may re-send.
	Window int
	// MaxObjects is the most objects in one batch (default 1000, Riak's
	// ACK_COUNT; at most MaxBatchObjects).
	MaxObjects int
	// MaxBytes is the most bytes of objects in one batch (default 1 MiB; at
	// most MaxBatchBytes), counted by ObjectSize. A batch exceeds it only
	// by its last object, so a single larger object still moves.
	MaxBytes int
	// BatchDeadline is how long the receiver waits for the next batch it
	// asked for before it closes the session as stalled (default 30 s).
	BatchDeadline time.Duration
	// MaxFailures is how many consecutive failed sessions (or anti-entropy
	// exchanges at the end) a transfer tolerates before it gives up with
	// ErrStalled (default 6: with hint.Backoff about 20 s of back-off, plus
	// the deadlines).
	MaxFailures int
	// MaxKey is the longest key accepted in a batch (default
	// wire.DefaultMaxKey; at most MaxKeyCeiling).
	MaxKey int
	// MaxValue is the largest value (encoded object) accepted in a batch
	// (default wire.DefaultMaxObject; at most MaxValueCeiling).
	MaxValue int
}

// Defaults.
const (
	DefaultWindow        = 4
	DefaultMaxObjects    = 1000
	DefaultMaxBytes      = 1 << 20
	DefaultBatchDeadline = 30 * time.Second
	DefaultMaxFailures   = 6
)

// WithDefaults returns c with zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Window, DefaultWindow)
	def(&c.MaxObjects, DefaultMaxObjects)
	def(&c.MaxBytes, DefaultMaxBytes)
	def(&c.MaxFailures, DefaultMaxFailures)
	def(&c.MaxKey, wire.DefaultMaxKey)
	def(&c.MaxValue, wire.DefaultMaxObject)
	if c.BatchDeadline == 0 {
		c.BatchDeadline = DefaultBatchDeadline
	}
	return c
}

// Validate reports every field out of range, joined; each error wraps
// ErrInvalid.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	check := func(name string, v, limit int) {
		if v < 1 || v > limit {
			errs = append(errs, invalidf("%s %d outside 1..%d", name, v, limit))
		}
	}
	check("window", c.Window, MaxWindow)
	check("max objects", c.MaxObjects, MaxBatchObjects)
	check("max bytes", c.MaxBytes, MaxBatchBytes)
	check("max failures", c.MaxFailures, 1<<20)
	check("max key", c.MaxKey, MaxKeyCeiling)
	check("max value", c.MaxValue, MaxValueCeiling)
	if c.BatchDeadline < time.Millisecond {
		errs = append(errs, invalidf("batch deadline %v under 1ms", c.BatchDeadline))
	}
	return errors.Join(errs...)
}
