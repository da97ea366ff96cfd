package hint

// Backlog summarises the records a node holds for one owner. The zero
// Backlog is empty. Its methods are value operations: the node keeps one
// Backlog per owner and replaces it with the result.
type Backlog struct {
	// Keys counts the records, Bytes their encoded size.
	Keys, Bytes int64
	// OldestMS is the creation time (Record.SinceMS) of the oldest record,
	// in unix milliseconds, or 0 when there are none. Added records can only
	// lower it; removing records cannot raise it (the Backlog does not know
	// which record was the oldest), so after removals it is a lower bound
	// until Settle replaces it with a freshly observed value.
	OldestMS int64
}

// Added returns b after a committed write to one of its records: a new
// record (created) created at sinceMS, and a change of grow bytes.
func (b Backlog) Added(created bool, grow int64, sinceMS int64) Backlog {
	if created {
		if b.Keys == 0 || sinceMS < b.OldestMS {
			b.OldestMS = sinceMS
		}
		b.Keys++
	}
	b.Bytes += grow
	return b
}

// Removed returns b after a record of size bytes was deleted. When the last
// record goes, the backlog is empty again (OldestMS 0).
func (b Backlog) Removed(size int64) Backlog {
	b.Keys--
	b.Bytes -= size
	if b.Keys <= 0 {
		return Backlog{}
	}
	return b
}

// Settle returns b with OldestMS set to oldestMS, the oldest creation time a
// complete scan of the owner's records observed (0 if it saw none). The
// caller folds in the records created while the scan ran. An empty backlog
// stays empty.
func (b Backlog) Settle(oldestMS int64) Backlog {
	if b.Keys > 0 && oldestMS > 0 {
		b.OldestMS = oldestMS
	}
	return b
}
