package hint

// Backlog summarises the records a node holds for one owner. The zero
// Backlog is empty. It changes by value (Account.Apply, Settle): the node
// keeps one per owner and replaces it with the result.
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
