package coord

// Quorum is what a request must gather (paper §4.5): Need answers (durable
// acknowledgements for a write) in all, NeedPrimary of them from the key's
// primaries rather than from stand-ins or spares (Riak's PW and PR). The
// zero value needs nothing and is not a request's quorum: a machine needs
// Need >= 1.
type Quorum struct {
	Need, NeedPrimary int
}

// WriteQuorum is the quorum of a write asking for w acknowledgements, pw of
// them from primaries, over a plan of slots slots: neither can exceed the
// slots there are (a ring with fewer than N members).
func WriteQuorum(w, pw, slots int) Quorum {
	return Quorum{Need: min(w, slots), NeedPrimary: min(pw, slots)}
}

// ReadQuorum is the quorum of a read asking for r answers, pr of them from
// primaries, over a plan of slots slots: r cannot exceed the slots, nor pr
// the answers needed.
func ReadQuorum(r, pr, slots int) Quorum {
	need := min(r, slots)
	return Quorum{Need: need, NeedPrimary: min(pr, need)}
}

// Tally counts the answers of one request against its quorum. The zero
// value has counted nothing.
type Tally struct {
	Quorum
	Acked     int // answers (acknowledgements) counted
	Primaries int // those of them from primaries
}

// Add counts an answer from t.
func (q *Tally) Add(t Target) {
	q.Acked++
	if t.Primary() {
		q.Primaries++
	}
}

// Met reports whether the quorum is gathered.
func (q Tally) Met() bool { return q.Acked >= q.Need && q.Primaries >= q.NeedPrimary }
