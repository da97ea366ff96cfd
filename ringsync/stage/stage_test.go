package stage

import (
	"errors"
	"testing"

	"github.com/shoalkv/shoal/ringsync/member"
)

func TestStageRules(t *testing.T) {
	three := cluster(t, 64, 3)
	one := cluster(t, 64, 1)
	// A cluster with n01 leaving, n03 joining and n04 removed.
	busy := commit(t, stage(t, cluster(t, 64, 5), leave(1), join(5), remove(4)), Options{})
	for _, tc := range []struct {
		name   string
		s      *member.State
		staged []member.Change
		c      member.Change
		want   error
	}{
		{"join a member", three, nil, join(1), ErrMember},
		{"join twice", three, []member.Change{join(5)}, join(5), ErrStaged},
		{"join a joining node", busy, nil, join(5), ErrMember},
		{"leave an unknown node", three, nil, leave(9), ErrUnknown},
		{"leave twice", three, []member.Change{leave(1)}, leave(1), ErrStaged},
		{"leave a leaving node", busy, nil, leave(1), ErrStatus},
		{"leave the last member", one, nil, leave(0), ErrLast},
		{"leave every member", three, []member.Change{leave(1), leave(2)}, leave(0), ErrLast},
		{"remove the last member", one, nil, remove(0), ErrLast},
		{"remove the last other valid", three, []member.Change{leave(1), leave(2)}, remove(0), ErrClaimant},
		{"remove the claimant", three, nil, remove(0), ErrClaimant},
		{"remove an unknown node", three, nil, remove(9), ErrUnknown},
		{"remove a removed node", busy, nil, remove(4), ErrStatus},
		{"remove a leaver", three, []member.Change{leave(1)}, remove(1), ErrStaged},
		{"replace twice", three, []member.Change{replace(1, 5)}, replace(1, 6), ErrStaged},
		{"replace by the same newcomer", three, []member.Change{replace(1, 5)}, replace(2, 5), ErrStaged},
		{"replace by a member", three, nil, replace(1, 2), ErrMember},
		{"replace an unknown node", three, nil, replace(9, 5), ErrUnknown},
		{"replace a joiner", busy, nil, replace(5, 6), ErrStatus},
		// The replacement joins, and only a valid member can be claimant.
		{"replace the last member", one, nil, replace(0, 5), ErrLast},
		{"malformed", three, nil, member.Change{Kind: member.Join}, member.ErrInvalid},
	} {
		s := stage(t, tc.s, tc.staged...)
		_, err := Stage(s, tc.c)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

// The claimant may be removed when it is the only member left to decide, and
// a removed node may join again (with a new store epoch).
func TestStageAllows(t *testing.T) {
	s := cluster(t, 64, 3)
	for _, c := range []member.Change{leave(0), join(3), replace(1, 4), remove(2)} {
		if _, err := Stage(s, c); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
	gone := commit(t, stage(t, s, remove(2)), Options{})
	if gone.Status("n02") != member.Removed {
		t.Fatalf("n02 is %v", gone.Status("n02"))
	}
	if _, err := Stage(gone, join(2)); err != nil {
		t.Errorf("join a removed node again: %v", err)
	}
	cleared := check[*member.State](t)(Clear(stage(t, s, join(3))))
	if len(cleared.Staged().Changes) != 0 {
		t.Error("Clear left changes staged")
	}
	if same := check[*member.State](t)(Clear(s)); same != s {
		t.Error("Clear of nothing made a new state")
	}
}
