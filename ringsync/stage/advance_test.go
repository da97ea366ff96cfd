package stage

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
)

func TestLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		changes []member.Change
		want    map[ring.NodeID]member.Status
	}{
		{"join", []member.Change{join(4)}, map[ring.NodeID]member.Status{"n04": member.Valid}},
		{"leave", []member.Change{leave(1)}, map[ring.NodeID]member.Status{"n01": member.Removed}},
		{"replace", []member.Change{replace(2, 7)}, map[ring.NodeID]member.Status{"n02": member.Removed, "n07": member.Valid}},
		{"remove", []member.Change{remove(3)}, map[ring.NodeID]member.Status{"n03": member.Removed}},
		{"claimant leaves", []member.Change{leave(0)}, map[ring.NodeID]member.Status{"n00": member.Removed, "n01": member.Valid}},
		{"all at once", []member.Change{join(4), leave(1), replace(2, 7), remove(3)},
			map[ring.NodeID]member.Status{"n00": member.Valid, "n01": member.Removed, "n02": member.Removed, "n03": member.Removed, "n04": member.Valid, "n07": member.Valid}},
	} {
		s := stage(t, cluster(t, 256, 4), tc.changes...)
		p := check[*Plan](t)(Make(s, Options{}))
		done := settle(t, commit(t, s, Options{}), Options{})
		if done.Claim().Target != nil || len(done.Claim().Transfers) != 0 {
			t.Fatalf("%s: plan still in progress", tc.name)
		}
		if done.Ring().Moves(p.Target) != 0 || len(done.Ring().Nodes()) != len(p.Target.Nodes()) {
			t.Fatalf("%s: ended on a ring other than the target", tc.name)
		}
		for id, st := range tc.want {
			if got := done.Status(id); got != st {
				t.Errorf("%s: %s is %v, want %v", tc.name, id, got, st)
			}
		}
		if !member.Ready(done) {
			t.Errorf("%s: not ready after settling: %v", tc.name, member.Unready(done))
		}
	}
}

// Transfers that report done in any order, a few at a time, flip only what
// they make safe, and the plan still ends on the target.
func TestAdvancePartialProgress(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 3))
		n := 3 + rng.IntN(5)
		s := stage(t, cluster(t, 256, n), join(n), leave(rng.IntN(n)))
		s = commit(t, s, Options{})
		target := s.Claim().Target
		steps := 0
		for s.Claim().Target != nil {
			if steps++; steps > 500 {
				t.Fatalf("seed %d: no end", seed)
			}
			s = seeAll(t, receive(t, s, func(member.Transfer) bool { return rng.IntN(8) == 0 }))
			by, _ := member.Claimant(s)
			next, _, err := Advance(s, by, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := unsafeFlip(s, next, DefaultN); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			s = next
		}
		if s.Ring().Moves(target) != 0 {
			t.Fatalf("seed %d: ended off target", seed)
		}
	}
}

// Nothing flips before anything is received; and the safety check catches a
// step that flips ahead of the data.
func TestAdvanceWaitsForData(t *testing.T) {
	s := commit(t, stage(t, cluster(t, 256, 4), join(4)), Options{})
	s = seeAll(t, s)
	next, ok, err := Advance(s, "n00", Options{})
	if err != nil || ok || next != s {
		t.Fatalf("advanced with no transfer done: %v %v", ok, err)
	}
	c := s.Claim()
	c.Ring = check[*ring.Ring](t)(c.Ring.Toward(c.Target, changedOwners(c.Ring, c.Target)))
	eager := check[*member.State](t)(s.WithClaim(c))
	if err := unsafeFlip(s, eager, DefaultN); err == nil {
		t.Fatal("a flip ahead of the data passed the safety check")
	}
	if _, _, err := Advance(s, "n01", Options{}); !errors.Is(err, ErrNotClaimant) {
		t.Fatalf("advance by a non-claimant: %v", err)
	}
}

// A leaver is exiting once the plan ends, and removed only after every
// member, the leaver included, has seen that.
func TestExitingWaitsForEveryone(t *testing.T) {
	s := commit(t, stage(t, cluster(t, 64, 3), leave(2)), Options{})
	s = seeAll(t, receive(t, s, func(member.Transfer) bool { return true }))
	s, _, _ = Advance(s, "n00", Options{})
	if s.Status("n02") != member.Exiting {
		t.Fatalf("n02 is %v", s.Status("n02"))
	}
	if again, ok, _ := Advance(s, "n00", Options{}); ok || again.Status("n02") != member.Exiting {
		t.Fatal("removed before everyone saw it exiting")
	}
	s = seeAll(t, s)
	if s, _, _ = Advance(s, "n00", Options{}); s.Status("n02") != member.Removed {
		t.Fatalf("n02 is %v", s.Status("n02"))
	}
}

func changedOwners(a, b *ring.Ring) []int {
	var ps []int
	for p := range a.Partitions() {
		if a.Owner(p) != b.Owner(p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// Negative control: an advance that checks only the gained replicas (and so
// may drop a replica the target keeps, which then misses writes) must be
// caught by the safety check under partial progress.
func TestSafetyCheckCatchesDroppedReplicas(t *testing.T) {
	caught := false
	for seed := uint64(0); seed < 20 && !caught; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		n := 3 + rng.IntN(5)
		s := commit(t, stage(t, cluster(t, 256, n), join(n), leave(rng.IntN(n))), Options{})
		for range 40 {
			s = seeAll(t, receive(t, s, func(member.Transfer) bool { return rng.IntN(8) == 0 }))
			c := s.Claim()
			tr := newTrial(ownersOf(c.Ring))
			to := ownersOf(c.Target)
			var flips []int
			gainedOnly := func(q int, from, into []ring.NodeID) bool {
				for _, x := range gained(from, into) {
					if !done(s, q, x) {
						return false
					}
				}
				return true
			}
			for p := range to {
				if tr.owners[p] != to[p] && tr.tryFlip(p, to[p], DefaultN, gainedOnly) {
					flips = append(flips, p)
				}
			}
			c.Ring = check[*ring.Ring](t)(c.Ring.Toward(c.Target, flips))
			next := check[*member.State](t)(s.WithClaim(c))
			if err := unsafeFlip(s, next, DefaultN); err != nil {
				caught = true
				t.Logf("seed %d: caught: %v", seed, err)
				break
			}
			s = next
		}
	}
	if !caught {
		t.Fatal("an advance that drops kept replicas was never caught")
	}
}
