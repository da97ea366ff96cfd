package stage

import (
	"fmt"
	"slices"
	"testing"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
)

func node(i int) ring.Node {
	return ring.Node{ID: ring.NodeID(fmt.Sprintf("n%02d", i)), Addr: fmt.Sprintf("127.0.0.1:%d", 7000+i)}
}

func check[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

// cluster returns a ready state of n valid nodes n00, n01, ... over q
// partitions.
func cluster(tb testing.TB, q, n int) *member.State {
	tb.Helper()
	nodes := make([]ring.Node, n)
	for i := range nodes {
		nodes[i] = node(i)
	}
	r := check[*ring.Ring](tb)(ring.New(q, nodes))
	s := check[*member.State](tb)(member.New("test", r))
	return seeAll(tb, s)
}

// seeAll makes every member that must confirm, and every joining one, report
// that it has seen the current version.
func seeAll(tb testing.TB, s *member.State) *member.State {
	tb.Helper()
	for _, e := range s.Claim().Members {
		if e.Status == member.Removed {
			continue
		}
		rec, ok := s.Record(e.ID)
		if !ok {
			rec = member.Record{ID: e.ID, Addr: e.Addr}
		}
		if rec.Seen == s.Version() && ok {
			continue
		}
		rec.Seen = s.Version()
		rec.Seq++
		s = check[*member.State](tb)(s.WithRecord(rec))
	}
	return s
}

// receive makes each receiver report done the transfers that pick selects.
func receive(tb testing.TB, s *member.State, pick func(member.Transfer) bool) *member.State {
	tb.Helper()
	c := s.Claim()
	got := map[ring.NodeID][]int{}
	for _, t := range c.Transfers {
		if pick(t) {
			got[t.To] = append(got[t.To], t.Partition)
		}
	}
	for _, e := range c.Members {
		ps := got[e.ID]
		if len(ps) == 0 {
			continue
		}
		rec, _ := s.Record(e.ID)
		rec.ID, rec.Addr = e.ID, e.Addr
		if rec.Plan == c.Plan {
			ps = append(ps, rec.Received...)
		}
		slices.Sort(ps)
		rec.Plan, rec.Received = c.Plan, slices.Compact(ps)
		rec.Seq++
		s = check[*member.State](tb)(s.WithRecord(rec))
	}
	return s
}

func stage(tb testing.TB, s *member.State, changes ...member.Change) *member.State {
	tb.Helper()
	for _, c := range changes {
		s = check[*member.State](tb)(Stage(s, c))
	}
	return s
}

// commit plans and commits at the claimant.
func commit(tb testing.TB, s *member.State, o Options) *member.State {
	tb.Helper()
	p := check[*Plan](tb)(Make(s, o))
	by, _ := member.Claimant(s)
	return check[*member.State](tb)(Commit(s, Request{Base: p.Base, Hash: p.Hash, By: by}, o))
}

// unsafeFlip reports a partition and node that the step from before to
// after brings into a replica set without a done transfer (ownership ahead
// of the data), or takes out of one that the target keeps it in.
func unsafeFlip(before, after *member.State, n int) error {
	plan := before.Claim()
	if plan.Target == nil {
		return nil
	}
	from, to, target := ownersOf(before.Ring()), ownersOf(after.Ring()), ownersOf(plan.Target)
	for q := range from {
		old, nu := from.replicas(q, n, len(before.Ring().Nodes())), to.replicas(q, n, len(after.Ring().Nodes()))
		for _, x := range gained(old, nu) {
			if !done(before, q, x) {
				return fmt.Errorf("partition %d gained replica %q before its transfer was done", q, x)
			}
		}
		keep := target.replicas(q, n, len(plan.Target.Nodes()))
		for _, x := range old {
			if slices.Contains(keep, x) && !slices.Contains(nu, x) {
				return fmt.Errorf("partition %d lost replica %q, which the target keeps", q, x)
			}
		}
	}
	return nil
}

func join(i int) member.Change  { return member.Change{Kind: member.Join, Node: node(i)} }
func leave(i int) member.Change { return member.Change{Kind: member.Leave, ID: node(i).ID} }
func remove(i int) member.Change {
	return member.Change{Kind: member.Remove, ID: node(i).ID}
}
func replace(old, nu int) member.Change {
	return member.Change{Kind: member.Replace, ID: node(old).ID, Node: node(nu)}
}

// settle completes every transfer and advances (everyone seeing each
// version) until nothing is left to do, checking every step's safety.
func settle(tb testing.TB, s *member.State, o Options) *member.State {
	tb.Helper()
	for range 100 {
		s = seeAll(tb, receive(tb, s, func(member.Transfer) bool { return true }))
		by, _ := member.Claimant(s)
		next, ok, err := Advance(s, by, o)
		if err != nil {
			tb.Fatal(err)
		}
		if !ok {
			return s
		}
		if err := unsafeFlip(s, next, o.n()); err != nil {
			tb.Fatal(err)
		}
		s = next
	}
	tb.Fatal("no end to advancing")
	return nil
}
