package member

import (
	"cmp"
	"fmt"
	"strings"
)

// Merge returns the least state that is at least as new as both a and b in
// every register: the claim with the higher ring version, the staged changes
// with the higher revision, and for each node the record with the higher
// (Epoch, Incarnation, Seq). It is commutative, associative and idempotent,
// so nodes that exchange states in any order and any number of times end
// with the same state (Dynamo §4.8's reconciliation of membership views).
// Neither argument is changed; the result may share their slices.
//
// Errors: [ErrCluster] if a and b belong to different clusters;
// [ErrConflict] if a register holds different values at one position in a
// and b. Merge never breaks a tie by time or by argument order.
func Merge(a, b *State) (*State, error) {
	if a.cluster != b.cluster {
		return nil, fmt.Errorf("%w: %q and %q", ErrCluster, a.cluster, b.cluster)
	}
	m := &State{cluster: a.cluster}
	switch c := cmp.Compare(a.Version(), b.Version()); {
	case c > 0:
		m.claim = a.claim
	case c < 0:
		m.claim = b.claim
	case !a.claim.equal(b.claim):
		return nil, fmt.Errorf("%w: two claims at ring version %d", ErrConflict, a.Version())
	default:
		m.claim = a.claim
	}
	switch c := cmp.Compare(a.staged.Rev, b.staged.Rev); {
	case c > 0:
		m.staged = a.staged
	case c < 0:
		m.staged = b.staged
	case !a.staged.equal(b.staged):
		return nil, fmt.Errorf("%w: two staged lists at revision %d", ErrConflict, a.staged.Rev)
	default:
		m.staged = a.staged
	}
	records, err := mergeRecords(a.records, b.records)
	if err != nil {
		return nil, err
	}
	m.records = records
	return m, nil
}

// mergeRecords merges two id-sorted record lists, keeping each node's newer
// record.
func mergeRecords(a, b []Record) ([]Record, error) {
	out := make([]Record, 0, max(len(a), len(b)))
	for len(a) > 0 || len(b) > 0 {
		var c int
		switch {
		case len(a) == 0:
			c = 1
		case len(b) == 0:
			c = -1
		default:
			c = strings.Compare(string(a[0].ID), string(b[0].ID))
		}
		switch {
		case c < 0:
			out, a = append(out, a[0]), a[1:]
		case c > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			r, err := newerRecord(a[0], b[0])
			if err != nil {
				return nil, err
			}
			out, a, b = append(out, r), a[1:], b[1:]
		}
	}
	if len(out) > MaxMembers {
		return nil, fmt.Errorf("%w: merged states hold %d records, at most %d", ErrInvalid, len(out), MaxMembers)
	}
	return out, nil
}

// newerRecord returns the newer of two records of one node.
func newerRecord(a, b Record) (Record, error) {
	switch c := cmpRecord(a, b); {
	case c > 0:
		return a, nil
	case c < 0:
		return b, nil
	case !a.equal(b):
		return Record{}, fmt.Errorf("%w: two records of %q at epoch %d, incarnation %d, seq %d", ErrConflict, a.ID, a.Epoch, a.Incarnation, a.Seq)
	default:
		return a, nil
	}
}

// equal reports whether st and o hold the same changes.
func (st Staged) equal(o Staged) bool {
	if st.Rev != o.Rev || len(st.Changes) != len(o.Changes) {
		return false
	}
	for i, c := range st.Changes {
		if c != o.Changes[i] {
			return false
		}
	}
	return true
}
