package stage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
)

func ids(nodes []ring.Node) []ring.NodeID {
	out := make([]ring.NodeID, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID
	}
	return out
}

func TestReplicasAreThePreferenceList(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		n := 1 + rng.IntN(12)
		s := cluster(t, []int{8, 64, 256}[rng.IntN(3)], min(n, 8))
		r := s.Ring()
		o := ownersOf(r)
		for _, k := range []int{1, 2, 3, 5} {
			for p := range r.Partitions() {
				pri, _ := r.PreferenceOf(p, k)
				if got := o.replicas(p, k, len(r.Nodes())); !slices.Equal(got, ids(pri)) {
					t.Fatalf("replicas(%d, %d) = %v, preference list %v", p, k, got, ids(pri))
				}
			}
		}
	}
}

// checkJoin reports whether a join plan from n nodes moves exactly the
// ring's optimum of owners, floor(Q/(n+1)), and at most 1.15 × N·D/(n+1)
// replica bytes, D being the data held once (uniform sizes).
func checkJoin(p *Plan, q, n int, size int64) error {
	if want := q / (n + 1); p.Owners != want {
		return fmt.Errorf("%d owners move, want %d", p.Owners, want)
	}
	d := int64(q) * size
	optimum := float64(int64(min(p.N, n+1))*d) / float64(n+1)
	if float64(p.Bytes) > 1.15*optimum {
		return fmt.Errorf("%d replica bytes move, %.2f × the optimum %.0f", p.Bytes, float64(p.Bytes)/optimum, optimum)
	}
	return nil
}

func TestJoinMovesTheOptimum(t *testing.T) {
	const size = 1000
	o := Options{Size: func(int) int64 { return size }}
	worst := 0.0
	for _, q := range []int{256, 1024, 4096} {
		for n := 3; n <= 12; n++ {
			s := stage(t, cluster(t, q, n), join(n))
			p := check[*Plan](t)(Make(s, o))
			if err := checkJoin(p, q, n, size); err != nil {
				t.Errorf("q=%d n=%d: %v", q, n, err)
			}
			worst = max(worst, float64(p.Bytes)/(float64(3*q*size)/float64(n+1)))
			// Every byte goes to the newcomer or replaces a replica that a
			// neighbouring walk lost; none is counted twice.
			var recv int64
			for _, f := range p.Nodes {
				recv += f.Receive.Bytes
			}
			if recv != p.Bytes {
				t.Fatalf("q=%d n=%d: nodes receive %d bytes, plan moves %d", q, n, recv, p.Bytes)
			}
		}
	}
	t.Logf("worst join: %.3f × N·D/(n+1)", worst)
}

// Negative control: a plan toward a ring dealt afresh with the newcomer, or
// a plan whose transfers are inflated, must fail checkJoin.
func TestCheckJoinCatchesBadPlans(t *testing.T) {
	const q, n, size = 1024, 4, 1000
	o := Options{Size: func(int) int64 { return size }}
	s := stage(t, cluster(t, q, n), join(n))
	good := check[*Plan](t)(Make(s, o))
	nodes := append(slices.Clone(s.Ring().Nodes()), node(n))
	fresh := check[*ring.Ring](t)(ring.New(q, nodes))
	bad := &Plan{N: 3, Owners: s.Ring().Moves(fresh)}
	bad.moves(ownersOf(s.Ring()), ownersOf(fresh), n, n+1, func(ring.NodeID) bool { return false })
	bad.Bytes = int64(len(bad.Transfers)) * size
	if err := checkJoin(bad, q, n, size); err == nil {
		t.Errorf("a re-dealt ring passed: %d owners, %d bytes", bad.Owners, bad.Bytes)
	}
	inflated := *good
	inflated.Bytes = good.Bytes * 6 / 5
	if err := checkJoin(&inflated, q, n, size); err == nil {
		t.Errorf("20%% more bytes passed")
	}
}

func TestPlanReportsReplicaSets(t *testing.T) {
	const q = 256
	s := stage(t, cluster(t, q, 4), join(4))
	p := check[*Plan](t)(Make(s, Options{}))
	if p.Base != s.Version() || p.N != DefaultN || len(p.Changes) != 1 {
		t.Fatalf("plan header %d %d %v", p.Base, p.N, p.Changes)
	}
	owner := 0
	for _, m := range p.Moves {
		if s.Ring().Owner(m.Partition) != p.Target.Owner(m.Partition) {
			owner++
		}
		if slices.Equal(m.Old, m.New) || len(m.Old) != 3 || len(m.New) != 3 {
			t.Fatalf("move %+v", m)
		}
	}
	if owner != p.Owners || len(p.Moves) <= p.Owners {
		t.Fatalf("%d moves, %d with an owner change of %d: neighbouring replica sets missing", len(p.Moves), owner, p.Owners)
	}
	for _, tr := range p.Transfers {
		i, _ := slices.BinarySearchFunc(p.Moves, tr.Partition, func(m Move, p int) int { return m.Partition - p })
		m := p.Moves[i]
		if slices.Contains(m.Old, tr.To) || !slices.Contains(m.New, tr.To) || !slices.Contains(m.Old, tr.From) {
			t.Fatalf("transfer %+v for move %+v", tr, m)
		}
	}
	// The balance: before 64 each; after 51 or 52, the newcomer included.
	for _, f := range p.Nodes {
		if f.Before != map[bool]int{true: 0, false: 64}[f.ID == "n04"] || f.After < 51 || f.After > 52 {
			t.Errorf("balance of %s: %d → %d", f.ID, f.Before, f.After)
		}
	}
	if len(p.Risk) != 0 {
		t.Errorf("risk with every node live: %v", p.Risk)
	}
}

func TestPlanDeterministicAndHashed(t *testing.T) {
	s := stage(t, cluster(t, 256, 5), join(5), leave(2))
	a := check[*Plan](t)(Make(s, Options{}))
	b := check[*Plan](t)(Make(s, Options{Size: func(int) int64 { return 7 }, Live: func(ring.NodeID) bool { return false }}))
	if a.Hash != b.Hash || !slices.Equal(a.Transfers, b.Transfers) {
		t.Fatal("sizes or liveness changed the plan's hash or transfers")
	}
	for name, other := range map[string]*member.State{
		"other change":  stage(t, cluster(t, 256, 5), join(6), leave(2)),
		"other order":   stage(t, cluster(t, 256, 5), leave(2), join(5)),
		"other version": stage(t, settle(t, commit(t, stage(t, cluster(t, 256, 6), remove(5)), Options{}), Options{}), join(5), leave(2)),
	} {
		if p := check[*Plan](t)(Make(other, Options{})); p.Hash == a.Hash {
			t.Errorf("%s: same hash", name)
		}
	}
	if p := check[*Plan](t)(Make(s, Options{N: 2})); p.Hash == a.Hash {
		t.Error("N=2: same hash")
	}
}

func TestPlanReplace(t *testing.T) {
	s := stage(t, cluster(t, 256, 4), replace(1, 7))
	p := check[*Plan](t)(Make(s, Options{}))
	for _, m := range p.Moves {
		want := slices.Clone(m.Old)
		want[slices.Index(want, "n01")] = "n07"
		if !slices.Equal(m.New, want) {
			t.Fatalf("partition %d: %v → %v, want n07 in n01's place", m.Partition, m.Old, m.New)
		}
	}
	for _, tr := range p.Transfers {
		if tr.From != "n01" || tr.To != "n07" {
			t.Fatalf("transfer %+v", tr)
		}
	}
	if len(p.Transfers) != len(p.Moves) {
		t.Fatalf("%d transfers for %d moves", len(p.Transfers), len(p.Moves))
	}
}

func TestPlanRemoveAndRisk(t *testing.T) {
	live := func(id ring.NodeID) bool { return id != "n02" && id != "n03" }
	s := stage(t, cluster(t, 256, 5), remove(3))
	p := check[*Plan](t)(Make(s, Options{Live: live}))
	for _, tr := range p.Transfers {
		if tr.From == "n03" || tr.From == "" {
			t.Fatalf("transfer %+v copies from the removed node", tr)
		}
	}
	cur := ownersOf(s.Ring())
	var want []int
	for q := range cur {
		reps := cur.replicas(q, 3, 5)
		if slices.Contains(reps, "n02") || slices.Contains(reps, "n03") {
			want = append(want, q)
		}
	}
	var got []int
	for _, r := range p.Risk {
		got = append(got, r.Partition)
		if len(r.Live) >= 3 || slices.Contains(r.Live, "n03") || slices.Contains(r.Live, "n02") {
			t.Fatalf("risk %+v", r)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("risk partitions %v, want %v", got, want)
	}
}

func TestMakeRejects(t *testing.T) {
	s := cluster(t, 64, 3)
	if _, err := Make(s, Options{}); err != ErrNothing {
		t.Errorf("nothing staged: %v", err)
	}
	if _, err := Make(stage(t, s, join(3)), Options{N: -1}); err == nil {
		t.Error("N=-1 accepted")
	}
	bad := stage(t, s, member.Change{Kind: member.Join, Node: ring.Node{ID: "x", Addr: "no-port"}})
	if _, err := Make(bad, Options{}); err == nil {
		t.Error("a join of an invalid address planned")
	}
}
