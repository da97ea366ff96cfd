package hint

// Account is what a node holds for one owner: the records pending delivery,
// the records kept (refused by the owner for good, or unreadable), and the
// records retained (delivered, but kept for their actor: Record.Retained).
// The zero Account is empty.
type Account struct {
	Pending, Kept, Retained Backlog
}

// Delta is one committed change to an owner's records, as a value: the
// change in pending records and bytes, in kept records and bytes, and the
// creation time (unix ms) of a record that became pending (created, or
// un-kept), 0 if none did. Deltas add: the sum of two is their combined
// effect.
type Delta struct {
	Keys, Bytes                 int64
	KeptKeys, KeptBytes         int64
	RetainedKeys, RetainedBytes int64
	SinceMS                     int64
}

// Created is the delta of a new pending record of size bytes created at
// sinceMS.
func Created(size, sinceMS int64) Delta { return Delta{Keys: 1, Bytes: size, SinceMS: sinceMS} }

// Grown is the delta of a pending record whose size changed by grow.
func Grown(grow int64) Delta { return Delta{Bytes: grow} }

// Unkept is the delta of a kept record of keptSize bytes that a write
// made pending again, now size bytes and pending since sinceMS.
func Unkept(keptSize, size, sinceMS int64) Delta {
	return Delta{Keys: 1, Bytes: size, KeptKeys: -1, KeptBytes: -keptSize, SinceMS: sinceMS}
}

// Removed is the delta of a pending record of size bytes deleted (it was
// delivered).
func Removed(size int64) Delta { return Delta{Keys: -1, Bytes: -size} }

// Kept is the delta of a pending record of size bytes marked kept, where
// it takes keptSize bytes.
func Kept(size, keptSize int64) Delta {
	return Delta{Keys: -1, Bytes: -size, KeptKeys: 1, KeptBytes: keptSize}
}

// Retained is the delta of a pending record of size bytes that was
// delivered and retained (Record.Retained), where it takes retainedSize
// bytes.
func Retained(size, retainedSize int64) Delta {
	return Delta{Keys: -1, Bytes: -size, RetainedKeys: 1, RetainedBytes: retainedSize}
}

// Revived is the delta of a retained record of retainedSize bytes that a
// write made pending again, now size bytes and pending since sinceMS.
func Revived(retainedSize, size, sinceMS int64) Delta {
	return Delta{Keys: 1, Bytes: size, RetainedKeys: -1, RetainedBytes: -retainedSize, SinceMS: sinceMS}
}

// Neg returns the delta that undoes d's counts (SinceMS is not undone).
func (d Delta) Neg() Delta {
	return Delta{Keys: -d.Keys, Bytes: -d.Bytes, KeptKeys: -d.KeptKeys, KeptBytes: -d.KeptBytes, RetainedKeys: -d.RetainedKeys, RetainedBytes: -d.RetainedBytes}
}

// Plus returns the combined effect of d and e.
func (d Delta) Plus(e Delta) Delta {
	s := Delta{Keys: d.Keys + e.Keys, Bytes: d.Bytes + e.Bytes, KeptKeys: d.KeptKeys + e.KeptKeys, KeptBytes: d.KeptBytes + e.KeptBytes,
		RetainedKeys: d.RetainedKeys + e.RetainedKeys, RetainedBytes: d.RetainedBytes + e.RetainedBytes, SinceMS: d.SinceMS}
	if e.SinceMS != 0 && (s.SinceMS == 0 || e.SinceMS < s.SinceMS) {
		s.SinceMS = e.SinceMS
	}
	return s
}

// Zero reports a delta that changes nothing.
func (d Delta) Zero() bool { return d == Delta{} }

// Apply returns a with d applied. Pending records removed can only leave
// OldestMS a lower bound (see Backlog); an account whose last pending
// record goes is empty again.
func (a Account) Apply(d Delta) Account {
	a.Pending = a.Pending.apply(d.Keys, d.Bytes, d.SinceMS)
	a.Kept = a.Kept.apply(d.KeptKeys, d.KeptBytes, 0)
	a.Retained = a.Retained.apply(d.RetainedKeys, d.RetainedBytes, 0)
	return a
}

func (b Backlog) apply(keys, bytes, sinceMS int64) Backlog {
	if keys > 0 && sinceMS != 0 && (b.Keys <= 0 || sinceMS < b.OldestMS) {
		b.OldestMS = sinceMS
	}
	b.Keys += keys
	b.Bytes += bytes
	if b.Keys <= 0 {
		return Backlog{}
	}
	return b
}

// Empty reports an account with no record.
func (a Account) Empty() bool { return a.Pending.Keys <= 0 && a.Kept.Keys <= 0 && a.Retained.Keys <= 0 }
