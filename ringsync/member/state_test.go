package member

import (
	"errors"
	"slices"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// seenAll gives every listed node a record that has seen version v.
func seenAll(tb testing.TB, s *State, v uint64, ids ...ring.NodeID) *State {
	tb.Helper()
	for _, id := range ids {
		rec, _ := s.Record(id)
		rec.ID, rec.Addr, rec.Seen = id, "h:1", v
		rec.Seq++
		s = must(tb)(s.WithRecord(rec))
	}
	return s
}

func TestReadyAndClaimant(t *testing.T) {
	s := must(t)(New("c", mustRing(t, 16, 3)))
	if Ready(s) {
		t.Fatal("ready before any member reported")
	}
	if got := Unready(s); !slices.Equal(got, []ring.NodeID{"n0", "n1", "n2"}) {
		t.Fatalf("unready %v", got)
	}
	s = seenAll(t, s, 1, "n0", "n1")
	if Ready(s) || !slices.Equal(Unready(s), []ring.NodeID{"n2"}) {
		t.Fatalf("ready with n2 unseen: %v", Unready(s))
	}
	s = seenAll(t, s, 1, "n2")
	if !Ready(s) {
		t.Fatalf("not ready: %v", Unready(s))
	}
	if id, ok := Claimant(s); !ok || id != "n0" {
		t.Fatalf("claimant %q %v", id, ok)
	}
	// A joining member need not have seen anything; a leaving one must, and
	// the claimant is the lowest-id valid member.
	c := s.Claim()
	c.Members = []Entry{{"n0", "h:1", Leaving}, {"n1", "h:1", Valid}, {"n2", "h:1", Valid}, {"n3", "h:1", Joining}}
	c.Ring = mustToward(t, c.Ring)
	s = must(t)(s.WithClaim(c))
	if Ready(s) {
		t.Fatal("ready at version 2 with every member at 1")
	}
	s = seenAll(t, s, 2, "n1", "n2")
	if !slices.Equal(Unready(s), []ring.NodeID{"n0"}) {
		t.Fatalf("unready %v, want the leaving n0", Unready(s))
	}
	s = seenAll(t, s, 2, "n0")
	if !Ready(s) {
		t.Fatalf("not ready: %v", Unready(s))
	}
	if id, _ := Claimant(s); id != "n1" {
		t.Fatalf("claimant %q, want n1", id)
	}
	// Seen ahead of the state's version is not "seen": this state is stale.
	s = seenAll(t, s, 3, "n0")
	if Ready(s) {
		t.Fatal("ready with a member ahead of the state")
	}
}

func mustToward(tb testing.TB, r *ring.Ring) *ring.Ring {
	tb.Helper()
	next, err := r.Toward(r, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return next
}

func TestWithRecord(t *testing.T) {
	s := must(t)(New("c", mustRing(t, 16, 3)))
	rec := Record{ID: "n0", Addr: "h:1", Seq: 1, Seen: 3}
	s = must(t)(s.WithRecord(rec))
	if same := must(t)(s.WithRecord(rec)); same != s {
		t.Error("the same record made a new state")
	}
	older := rec
	older.Seq = 0
	newer := rec
	newer.Seq, newer.Seen = 2, 2
	fork := rec
	fork.Addr = "h:2"
	reborn := newer
	reborn.Epoch = 1
	for name, tc := range map[string]struct {
		r    Record
		want error
	}{
		"older":            {older, ErrStale},
		"same seq, other":  {fork, ErrConflict},
		"seen goes back":   {newer, ErrInvalid},
		"no address":       {Record{ID: "n0", Seq: 9}, ErrInvalid},
		"received no plan": {Record{ID: "n0", Addr: "h:1", Seq: 9, Seen: 9, Received: []int{1}}, ErrInvalid},
		"received order":   {Record{ID: "n0", Addr: "h:1", Seq: 9, Seen: 9, Plan: 1, Received: []int{2, 1}}, ErrInvalid},
	} {
		if _, err := s.WithRecord(tc.r); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", name, err, tc.want)
		}
	}
	// A new epoch may restart Seen (the node lost its data).
	if _, err := s.WithRecord(reborn); err != nil {
		t.Errorf("new epoch: %v", err)
	}
}

func TestWithClaimRejects(t *testing.T) {
	r := mustRing(t, 16, 3)
	s := must(t)(New("c", r))
	next := mustToward(t, r)
	target, err := r.Join(testNode(3))
	if err != nil {
		t.Fatal(err)
	}
	members := s.Claim().Members
	withN3 := append(slices.Clone(members), Entry{"n3", "h:3", Joining})
	for name, tc := range map[string]struct {
		c    Claim
		want error
	}{
		"same version":        {Claim{Ring: r, Members: members}, ErrStale},
		"no ring":             {Claim{Members: members}, ErrInvalid},
		"ring node missing":   {Claim{Ring: next, Members: members[1:]}, ErrInvalid},
		"status none":         {Claim{Ring: next, Members: append(slices.Clone(members), Entry{"n9", "h:9", None})}, ErrInvalid},
		"unsorted":            {Claim{Ring: next, Members: []Entry{members[1], members[0], members[2]}}, ErrInvalid},
		"target no plan":      {Claim{Ring: next, Members: withN3, Target: target}, ErrInvalid},
		"plan no target":      {Claim{Ring: next, Members: withN3, Plan: 1}, ErrInvalid},
		"target node missing": {Claim{Ring: next, Members: members, Target: target, Plan: 2}, ErrInvalid},
		"transfer to non-target": {Claim{Ring: next, Members: withN3, Target: target, Plan: 2,
			Transfers: []Transfer{{Partition: 0, From: "n0", To: "n9"}}}, ErrInvalid},
		"transfers unsorted": {Claim{Ring: next, Members: withN3, Target: target, Plan: 2,
			Transfers: []Transfer{{Partition: 2, From: "n0", To: "n3"}, {Partition: 1, From: "n0", To: "n3"}}}, ErrInvalid},
	} {
		if _, err := s.WithClaim(tc.c); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", name, err, tc.want)
		}
	}
	ok := Claim{Ring: next, Members: withN3, Target: target, Plan: 2,
		Transfers: []Transfer{{Partition: 1, From: "n0", To: "n3"}, {Partition: 2, To: "n3"}}}
	if _, err := s.WithClaim(ok); err != nil {
		t.Errorf("a good claim: %v", err)
	}
}

func TestNewAndStagedRejects(t *testing.T) {
	r := mustRing(t, 16, 3)
	if _, err := New("", r); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty cluster id: %v", err)
	}
	if _, err := New("c", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil ring: %v", err)
	}
	s := must(t)(New("c", r))
	for _, c := range []Change{
		{},
		{Kind: Join, ID: "x", Node: ring.Node{ID: "y", Addr: "h:1"}},
		{Kind: Join},
		{Kind: Leave},
		{Kind: Leave, ID: "n1", Node: ring.Node{ID: "y", Addr: "h:1"}},
		{Kind: Replace, ID: "n1"},
		{Kind: Replace, ID: "n1", Node: ring.Node{ID: "n1", Addr: "h:1"}},
		{Kind: Remove, ID: ""},
		{Kind: 9, ID: "n1"},
	} {
		if _, err := s.WithStaged([]Change{c}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: err %v", c, err)
		}
	}
	st := must(t)(s.WithStaged([]Change{{Kind: Leave, ID: "n1"}}))
	if st.Staged().Rev != 1 || len(s.Staged().Changes) != 0 {
		t.Errorf("staging changed the receiver or did not bump the revision")
	}
}

func TestMembersJoinsEntriesAndRecords(t *testing.T) {
	s := must(t)(New("c", mustRing(t, 16, 2)))
	s = must(t)(s.WithRecord(Record{ID: "n1", Addr: "moved:1", Seq: 1}))
	s = must(t)(s.WithRecord(Record{ID: "n5", Addr: "new:5", Seq: 1}))
	got := s.Members()
	want := []struct {
		id     ring.NodeID
		addr   string
		status Status
		rec    bool
	}{{"n0", "127.0.0.1:7000", Valid, false}, {"n1", "moved:1", Valid, true}, {"n5", "new:5", None, true}}
	if len(got) != len(want) {
		t.Fatalf("%d members, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.id || g.Addr != w.addr || g.Status != w.status || g.HasRecord != w.rec {
			t.Errorf("member %d: %+v, want %+v", i, g, w)
		}
	}
}

func TestDigestTellsStatesApart(t *testing.T) {
	s := must(t)(New("c", mustRing(t, 16, 2)))
	a := must(t)(s.WithRecord(Record{ID: "n1", Addr: "h:1", Seq: 1}))
	b := must(t)(s.WithRecord(Record{ID: "n1", Addr: "h:1", Seq: 2}))
	if s.Digest() == a.Digest() || a.Digest() == b.Digest() {
		t.Fatal("different states, same digest")
	}
	m := must(t)(Merge(a, b))
	if m.Digest() != b.Digest() || m.Digest().Version != 1 {
		t.Fatal("merge of a into b differs from b")
	}
}
