package coord

import (
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
)

func TestQuorumNeedsPrimariesForPW(t *testing.T) {
	q := Tally{Quorum: Quorum{Need: 2, NeedPrimary: 2}}
	q.Add(Target{Node: ring.Node{ID: "a"}})
	q.Add(Target{Node: ring.Node{ID: "d"}, HintFor: "b"})
	if q.Met() {
		t.Fatal("a hinted ack counted as a primary")
	}
	q.Add(Target{Node: ring.Node{ID: "c"}})
	if !q.Met() {
		t.Fatal("2 primary acks of 3 did not meet W=2 PW=2")
	}
}

// A read's spare answers toward R, never toward PR.
func TestTallySpareCountsOnlyTowardTheTotal(t *testing.T) {
	q := Tally{Quorum: Quorum{Need: 1, NeedPrimary: 1}}
	q.Add(Target{Node: ring.Node{ID: "e"}, Spare: true})
	if q.Acked != 1 || q.Primaries != 0 || q.Met() {
		t.Fatalf("after a spare's answer: %+v, met %v", q, q.Met())
	}
}

// Neither count can exceed the slots there are; a read's PR cannot exceed
// its R, a write's PW only the slots.
func TestQuorumsAreCappedBySlots(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want Quorum
	}{
		{"write fits", WriteQuorum(2, 1, 3), Quorum{2, 1}},
		{"write on a small ring", WriteQuorum(3, 3, 2), Quorum{2, 2}},
		{"write pw above w", WriteQuorum(1, 3, 3), Quorum{1, 3}},
		{"write on an empty ring", WriteQuorum(2, 0, 0), Quorum{0, 0}},
		{"read fits", ReadQuorum(2, 1, 3), Quorum{2, 1}},
		{"read on a small ring", ReadQuorum(3, 3, 2), Quorum{2, 2}},
		{"read pr above r", ReadQuorum(1, 3, 3), Quorum{1, 1}},
		{"read r of zero", ReadQuorum(0, 0, 3), Quorum{0, 0}},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
}
