package store

import "sync/atomic"

// Stats are counters since Open. Writes/Commits is the mean batch size.
type Stats struct {
	// Commits counts write transactions committed.
	Commits uint64
	// Writes counts Apply and Delete calls carried by committed
	// transactions, including Apply calls whose function returned nil or an
	// error and so changed nothing.
	Writes uint64
	// FailedCommits counts write transactions whose commit failed.
	FailedCommits uint64
	// GroupWaits counts batches for which the commit loop waited for
	// company (Options.GroupWait).
	GroupWaits uint64
	// CorruptReads counts reads (Get, View, ForEach, and the reads of Apply
	// and CompareAndDelete) that met a record whose checksum does not hold,
	// and so treated it as absent.
	CorruptReads uint64
	// CorruptRecords counts the distinct corrupt records met, up to
	// MaxLoggedCorrupt; each is logged once.
	CorruptRecords uint64
}

// counters are the live, atomically updated Stats.
type counters struct {
	commits, writes, failedCommits, groupWaits atomic.Uint64
}

// Stats returns the store's counters. It is safe to call concurrently with
// anything, including after Close.
func (s *Store) Stats() Stats {
	return Stats{
		Commits:        s.stats.commits.Load(),
		Writes:         s.stats.writes.Load(),
		FailedCommits:  s.stats.failedCommits.Load(),
		GroupWaits:     s.stats.groupWaits.Load(),
		CorruptReads:   s.corrupt.Reads(),
		CorruptRecords: s.corrupt.Records(),
	}
}
