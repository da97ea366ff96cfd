package store

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
)

// MaxLoggedCorrupt is how many distinct corrupt records a Corruptions logs
// one by one (and counts in Stats.CorruptRecords). Past it, one more line
// says that further ones are only counted: a file full of damage must not
// flood the log or grow memory with every scan that meets it again.
const MaxLoggedCorrupt = 4096

// Corruptions counts and logs the corrupt records an Engine meets: every
// read that meets one counts (Stats.CorruptReads), and each distinct record
// is logged once (bucket and key hash, never a value) and counted once
// (Stats.CorruptRecords), up to MaxLoggedCorrupt of them. The zero value is
// not usable; use NewCorruptions. It is safe for concurrent use.
type Corruptions struct {
	log   *slog.Logger
	reads atomic.Uint64

	mu   sync.Mutex
	seen map[corruptID]struct{}
	full bool
}

type corruptID struct {
	bucket Bucket
	key    string // KeyHash
}

// NewCorruptions returns a Corruptions that logs to log.
func NewCorruptions(log *slog.Logger) *Corruptions {
	return &Corruptions{log: log, seen: make(map[corruptID]struct{})}
}

// Note counts err if it is a *CorruptError, logging it the first time its
// record is met, and returns err unchanged.
func (c *Corruptions) Note(err error) error {
	var ce *CorruptError
	if !errors.As(err, &ce) {
		return err
	}
	c.reads.Add(1)
	id := corruptID{ce.Bucket, ce.KeyHash}
	c.mu.Lock()
	_, old := c.seen[id]
	first := !old && len(c.seen) < MaxLoggedCorrupt
	if first {
		c.seen[id] = struct{}{}
	}
	overflow := !old && !first && !c.full
	if overflow {
		c.full = true
	}
	c.mu.Unlock()
	switch {
	case first:
		c.log.Error("store: corrupt record, treated as absent", "bucket", ce.Bucket.String(),
			"key_sha256", ce.KeyHash, "key_len", ce.KeyLen, "reason", ce.Reason)
	case overflow:
		c.log.Error("store: more corrupt records than are logged one by one; further ones are only counted",
			"limit", MaxLoggedCorrupt)
	}
	return err
}

// Reads returns how many reads met a corrupt record.
func (c *Corruptions) Reads() uint64 { return c.reads.Load() }

// Records returns how many distinct corrupt records were met, counting up
// to MaxLoggedCorrupt.
func (c *Corruptions) Records() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return uint64(len(c.seen))
}
