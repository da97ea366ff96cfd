package memstore

import (
	"sync/atomic"

	"github.com/shoalkv/shoal/storaged/store"
)

// counters are the live, atomically updated Stats.
type counters struct {
	commits, writes, failedCommits atomic.Uint64
}

// Stats returns the Store's counters, counted as *store.Store counts them:
// Commits and Writes for batches answered with success, FailedCommits for
// batches that FailCommits made fail. GroupWaits stays 0: the Store never
// waits for company. Stats is safe to call concurrently with anything,
// including after Close or Crash.
func (s *Store) Stats() store.Stats {
	return store.Stats{
		Commits:        s.stats.commits.Load(),
		Writes:         s.stats.writes.Load(),
		FailedCommits:  s.stats.failedCommits.Load(),
		CorruptReads:   s.corrupt.Reads(),
		CorruptRecords: s.corrupt.Records(),
	}
}
