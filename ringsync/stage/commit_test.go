package stage

import (
	"errors"
	"testing"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// split returns s with a new ring version seen only by the listed side: the
// other members lag, as when the cluster is cut in two after the claimant
// advanced.
func split(tb testing.TB, s *member.State, side ...ring.NodeID) *member.State {
	tb.Helper()
	c := s.Claim()
	c.Ring = check[*ring.Ring](tb)(c.Ring.Toward(c.Ring, nil))
	s = check[*member.State](tb)(s.WithClaim(c))
	for _, id := range side {
		rec, _ := s.Record(id)
		rec.Seen, rec.Seq = s.Version(), rec.Seq+1
		s = check[*member.State](tb)(s.WithRecord(rec))
	}
	return s
}

func TestCommitRefused(t *testing.T) {
	base := stage(t, cluster(t, 64, 5), join(5))
	p := check[*Plan](t)(Make(base, Options{}))
	good := Request{Base: p.Base, Hash: p.Hash, By: "n00"}
	// A 2|3 split: each side has seen only its own members' reports.
	minority := stage(t, split(t, cluster(t, 64, 5), "n00", "n01"), join(5))
	majority := stage(t, split(t, cluster(t, 64, 5), "n02", "n03", "n04"), join(5))
	reqOf := func(s *member.State) Request {
		p := check[*Plan](t)(Make(s, Options{}))
		return Request{Base: p.Base, Hash: p.Hash, By: "n00"}
	}
	otherHash := good
	otherHash.Hash[0] ^= 1
	oldBase := good
	oldBase.Base--
	notClaimant := good
	notClaimant.By = "n01"
	deadN3 := Options{Live: func(id ring.NodeID) bool { return id != "n03" }}
	busy := commit(t, stage(t, cluster(t, 64, 5), join(6)), Options{})
	busy = stage(t, busy, leave(1))
	for _, tc := range []struct {
		name string
		s    *member.State
		req  Request
		o    Options
		want error
	}{
		{"split, minority side", minority, reqOf(minority), Options{}, ErrNotReady},
		{"split, majority side", majority, reqOf(majority), Options{}, ErrNotReady},
		{"a member not live", base, good, deadN3, ErrNotReady},
		{"plan changed", base, otherHash, Options{}, ErrPlanChanged},
		{"ring moved on", base, oldBase, Options{}, ErrVersion},
		{"not the claimant", base, notClaimant, Options{}, ErrNotClaimant},
		{"plan in progress", busy, good, Options{}, ErrBusy},
		{"nothing staged", cluster(t, 64, 5), Request{Base: 1, By: "n00"}, Options{}, ErrNothing},
		{"bad options", base, good, Options{N: 99}, ErrOptions},
	} {
		if _, err := Commit(tc.s, tc.req, tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	// Negative control: the same states with every member caught up commit.
	for name, s := range map[string]*member.State{"base": base, "minority healed": seeAll(t, minority), "majority healed": seeAll(t, majority)} {
		if _, err := Commit(s, reqOf(s), Options{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A remove is exactly for a member that is gone: it need not have seen the
// current version nor be live.
func TestCommitRemoveOfADeadMember(t *testing.T) {
	s := stage(t, split(t, cluster(t, 64, 4), "n00", "n01", "n02"), remove(3))
	dead := Options{Live: func(id ring.NodeID) bool { return id != "n03" }}
	p := check[*Plan](t)(Make(s, dead))
	if _, err := Commit(s, Request{Base: p.Base, Hash: p.Hash, By: "n00"}, dead); err != nil {
		t.Fatal(err)
	}
}

func TestCommitResult(t *testing.T) {
	s := stage(t, cluster(t, 64, 5), join(5), leave(1), replace(2, 6), remove(3))
	p := check[*Plan](t)(Make(s, Options{}))
	c := check[*member.State](t)(Commit(s, Request{Base: p.Base, Hash: p.Hash, By: "n00"}, Options{}))
	if c.Version() != s.Version()+1 || c.Ring().Moves(s.Ring()) != 0 {
		t.Fatalf("committed ring v%d with %d moves", c.Version(), c.Ring().Moves(s.Ring()))
	}
	cl := c.Claim()
	if cl.Plan != c.Version() || cl.Target.Moves(p.Target) != 0 || len(cl.Transfers) != len(p.Transfers) {
		t.Fatalf("claim: plan %d target moves %d transfers %d", cl.Plan, cl.Target.Moves(p.Target), len(cl.Transfers))
	}
	want := map[ring.NodeID]member.Status{"n00": member.Valid, "n01": member.Leaving, "n02": member.Leaving,
		"n03": member.Removed, "n04": member.Valid, "n05": member.Joining, "n06": member.Joining}
	for id, st := range want {
		if c.Status(id) != st {
			t.Errorf("%s is %v, want %v", id, c.Status(id), st)
		}
	}
	if len(c.Staged().Changes) != 0 {
		t.Error("changes still staged")
	}
	// The committed state crosses the wire intact.
	b := check[[]byte](t)(member.Encode(c))
	if d := check[*member.State](t)(member.Decode(b)); d.Digest() != c.Digest() {
		t.Error("round trip changed the committed state")
	}
}
