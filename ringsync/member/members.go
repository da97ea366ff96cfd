package member

import (
	"strings"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Member is one node as the state knows it: the claimant's entry and the
// node's own record, joined by id.
type Member struct {
	ID ring.NodeID
	// Addr is the node's announced address, or the address it joined with
	// if it has announced none.
	Addr   string
	Status Status
	// Record is the node's own record; zero (and HasRecord false) if it has
	// announced none.
	Record    Record
	HasRecord bool
}

// Members returns every node that has an entry or a record, sorted by id:
// what `shoal status` lists. The caller owns the slice.
func (s *State) Members() []Member {
	es, rs := s.claim.Members, s.records
	out := make([]Member, 0, max(len(es), len(rs)))
	for len(es) > 0 || len(rs) > 0 {
		var c int
		switch {
		case len(es) == 0:
			c = 1
		case len(rs) == 0:
			c = -1
		default:
			c = strings.Compare(string(es[0].ID), string(rs[0].ID))
		}
		var m Member
		if c <= 0 {
			m = Member{ID: es[0].ID, Addr: es[0].Addr, Status: es[0].Status}
			es = es[1:]
		}
		if c >= 0 {
			m.ID, m.Addr, m.Record, m.HasRecord = rs[0].ID, rs[0].Addr, rs[0], true
			rs = rs[1:]
		}
		out = append(out, m)
	}
	return out
}
