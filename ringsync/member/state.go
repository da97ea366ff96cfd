package member

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// ClusterID names a cluster: 1 to MaxClusterIDLen bytes of UTF-8, chosen
// when the cluster is created and never changed. States of different
// clusters never merge.
type ClusterID string

// Staged is the list of changes staged for the next commit, with its
// revision: only the claimant writes it, each write with a higher revision.
type Staged struct {
	Rev     uint64
	Changes []Change
}

// State is one node's view of the cluster: an immutable value, safe for
// concurrent use. Build one with [New], [Decode] or [Merge], and derive new
// ones with the With methods, which never change their receiver. Slices that
// accessors return are shared with the state and must not be modified.
type State struct {
	cluster ClusterID
	claim   Claim
	staged  Staged
	records []Record // sorted by id, unique
}

// New returns the state of a new cluster whose members are r's nodes, all
// valid, with nothing staged and no records yet: each node adds its own with
// [State.WithRecord].
func New(cluster ClusterID, r *ring.Ring) (*State, error) {
	if err := checkCluster(cluster); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("%w: nil ring", ErrInvalid)
	}
	entries := make([]Entry, 0, len(r.Nodes()))
	for _, n := range r.Nodes() {
		entries = append(entries, Entry{ID: n.ID, Addr: n.Addr, Status: Valid})
	}
	c := Claim{Ring: r, Members: entries}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &State{cluster: cluster, claim: c}, nil
}

// Cluster is the state's cluster id.
func (s *State) Cluster() ClusterID { return s.cluster }

// Claim is the claimant-owned part of the state.
func (s *State) Claim() Claim { return s.claim }

// Ring is the current ring.
func (s *State) Ring() *ring.Ring { return s.claim.Ring }

// Version is the current ring version.
func (s *State) Version() uint64 { return s.claim.Ring.Version() }

// Staged is what is staged for the next commit.
func (s *State) Staged() Staged { return s.staged }

// Records returns every node's record, sorted by id.
func (s *State) Records() []Record { return s.records }

// Record returns id's record, if it has announced one.
func (s *State) Record(id ring.NodeID) (Record, bool) {
	i, ok := s.recordIndex(id)
	if !ok {
		return Record{}, false
	}
	return s.records[i], true
}

func (s *State) recordIndex(id ring.NodeID) (int, bool) {
	return slices.BinarySearchFunc(s.records, id, func(r Record, id ring.NodeID) int {
		return strings.Compare(string(r.ID), string(id))
	})
}

// Status returns id's status: None unless the claim has an entry for it.
func (s *State) Status(id ring.NodeID) Status {
	e, _ := s.claim.Entry(id)
	return e.Status
}

// WithClaim returns s with claim c, which must be well formed and have a
// higher ring version than s's ([ErrStale] otherwise). Only the claimant
// calls it, through package stage.
func (s *State) WithClaim(c Claim) (*State, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Ring.Version() <= s.Version() {
		return nil, fmt.Errorf("%w: ring version %d, have %d", ErrStale, c.Ring.Version(), s.Version())
	}
	t := *s
	t.claim = c
	return &t, nil
}

// WithStaged returns s with changes staged under the next revision. Only the
// claimant calls it, through package stage, which checks that the changes
// make sense; here they need only be well formed and at most MaxStaged.
func (s *State) WithStaged(changes []Change) (*State, error) {
	st := Staged{Rev: s.staged.Rev + 1, Changes: slices.Clone(changes)}
	if err := st.check(); err != nil {
		return nil, err
	}
	t := *s
	t.staged = st
	return &t, nil
}

// WithRecord returns s with rec as its node's record if rec is newer than the
// one s holds, and s itself if rec is the same record. A node writes its own
// record through it (with a higher Seq, Incarnation or Epoch each time), and
// a seed adds a newcomer's announcement.
//
// Errors: [ErrInvalid]; [ErrStale] if rec is older than the held record;
// [ErrConflict] if it is at the same (Epoch, Incarnation, Seq) with other
// contents; [ErrInvalid] if its Seen is lower than the held one in the same
// epoch; [ErrInvalid] beyond MaxMembers records.
func (s *State) WithRecord(rec Record) (*State, error) {
	if err := rec.check(); err != nil {
		return nil, err
	}
	rec.Received = slices.Clip(rec.Received)
	i, ok := s.recordIndex(rec.ID)
	if ok {
		old := s.records[i]
		switch c := cmpRecord(rec, old); {
		case c < 0:
			return nil, fmt.Errorf("%w: record of %q", ErrStale, rec.ID)
		case c == 0 && rec.equal(old):
			return s, nil
		case c == 0:
			return nil, fmt.Errorf("%w: two records of %q at one seq", ErrConflict, rec.ID)
		case rec.Epoch == old.Epoch && rec.Seen < old.Seen:
			return nil, fmt.Errorf("%w: %q: seen %d after %d", ErrInvalid, rec.ID, rec.Seen, old.Seen)
		}
	} else if len(s.records) >= MaxMembers {
		return nil, fmt.Errorf("%w: more than %d records", ErrInvalid, MaxMembers)
	}
	t := *s
	t.records = slices.Clone(s.records)
	if ok {
		t.records[i] = rec
	} else {
		t.records = slices.Insert(t.records, i, rec)
	}
	return &t, nil
}

// check reports whether st is well formed.
func (st Staged) check() error {
	if len(st.Changes) > MaxStaged {
		return fmt.Errorf("%w: %d staged changes, at most %d", ErrInvalid, len(st.Changes), MaxStaged)
	}
	for _, c := range st.Changes {
		if err := c.check(); err != nil {
			return err
		}
	}
	return nil
}

// check reports whether s is well formed: what Decode verifies of untrusted
// states, and what every constructor keeps.
func (s *State) check() error {
	if err := checkCluster(s.cluster); err != nil {
		return err
	}
	if err := s.claim.check(); err != nil {
		return err
	}
	if err := s.staged.check(); err != nil {
		return err
	}
	if len(s.records) > MaxMembers {
		return fmt.Errorf("%w: %d records, at most %d", ErrInvalid, len(s.records), MaxMembers)
	}
	for i, r := range s.records {
		if err := r.check(); err != nil {
			return err
		}
		if i > 0 && s.records[i-1].ID >= r.ID {
			return fmt.Errorf("%w: records not sorted and unique at %q", ErrInvalid, r.ID)
		}
	}
	return nil
}
