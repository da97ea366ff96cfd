package stage

import (
	"fmt"
	"slices"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// Stage returns s with c appended to its staged changes, if c makes sense
// for the cluster together with what is already staged. Only the claimant
// stages (the shell forwards the request there), so staged lists do not
// conflict. Staging does not change the ring; [Commit] does.
//
// The rules, each with its error:
//   - a node takes part in at most one staged change ([ErrStaged]);
//   - join: the node is not a member; a removed one may join again
//     ([ErrMember]);
//   - leave: the member is valid ([ErrUnknown], [ErrStatus]);
//   - replace: the old member is valid ([ErrUnknown], [ErrStatus]) and the
//     new node is not a member ([ErrMember]);
//   - remove: the node is a member not yet removed ([ErrUnknown],
//     [ErrStatus]), and not the claimant while other members remain
//     ([ErrClaimant]): the claimant is the one committing it;
//   - at least one valid member stays valid, to be the claimant
//     ([ErrLast]);
//   - the change is well formed (member.ErrInvalid), and at most
//     member.MaxStaged are staged.
func Stage(s *member.State, c member.Change) (*member.State, error) {
	staged := s.Staged().Changes
	for _, id := range involved(c) {
		for _, o := range staged {
			if slices.Contains(involved(o), id) {
				return nil, fmt.Errorf("%w: %q in %v", ErrStaged, id, o)
			}
		}
	}
	if err := allowed(s, c); err != nil {
		return nil, err
	}
	all := append(slices.Clone(staged), c)
	if stays(s, all) == 0 {
		return nil, fmt.Errorf("%w: after %v", ErrLast, c)
	}
	return s.WithStaged(all)
}

// Clear returns s with nothing staged, or s itself if nothing is.
func Clear(s *member.State) (*member.State, error) {
	if len(s.Staged().Changes) == 0 {
		return s, nil
	}
	return s.WithStaged(nil)
}

// involved lists the nodes c names.
func involved(c member.Change) []ring.NodeID {
	var ids []ring.NodeID
	for _, id := range []ring.NodeID{c.ID, c.Node.ID} {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// allowed checks c against the members' statuses.
func allowed(s *member.State, c member.Change) error {
	newcomer := func() error {
		if st := s.Status(c.Node.ID); st != member.None && st != member.Removed {
			return fmt.Errorf("%w: %q is %v", ErrMember, c.Node.ID, st)
		}
		return nil
	}
	valid := func() error {
		switch st := s.Status(c.ID); st {
		case member.Valid:
			return nil
		case member.None:
			return fmt.Errorf("%w: %q", ErrUnknown, c.ID)
		default:
			return fmt.Errorf("%w: %v %q is %v", ErrStatus, c.Kind, c.ID, st)
		}
	}
	switch c.Kind {
	case member.Join:
		return newcomer()
	case member.Leave:
		return valid()
	case member.Replace:
		if err := valid(); err != nil {
			return err
		}
		return newcomer()
	case member.Remove:
		switch st := s.Status(c.ID); st {
		case member.None:
			return fmt.Errorf("%w: %q", ErrUnknown, c.ID)
		case member.Removed:
			return fmt.Errorf("%w: %q is already removed", ErrStatus, c.ID)
		}
		if claimant, _ := member.Claimant(s); c.ID == claimant && others(s, c.ID) {
			return fmt.Errorf("%w: %q", ErrClaimant, c.ID)
		}
	}
	return nil // a malformed change is refused by WithStaged
}

// others reports whether s has a member besides id that is not removed.
func others(s *member.State, id ring.NodeID) bool {
	for _, e := range s.Claim().Members {
		if e.ID != id && e.Status != member.Removed {
			return true
		}
	}
	return false
}

// stays counts the valid members that no change in changes takes out.
func stays(s *member.State, changes []member.Change) int {
	n := 0
	for _, e := range s.Claim().Members {
		if e.Status != member.Valid {
			continue
		}
		out := slices.ContainsFunc(changes, func(c member.Change) bool { return c.Kind != member.Join && c.ID == e.ID })
		if !out {
			n++
		}
	}
	return n
}
