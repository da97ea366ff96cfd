package dvv

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// sim replays a random history of one key over a few replicas, each the
// coordinator for its own actor, checking invariants after every step and
// keeping an oracle of which writes must survive.
type sim struct {
	t        *testing.T
	rng      *rand.Rand
	replicas []replica
	history  []Set            // every state any replica ever held
	issued   map[Dot]Sibling  // every write, by dot
	last     map[Actor]uint64 // highest counter issued per actor
	killed   map[Dot]bool     // writes some later write's context covered
	nextVal  int
}

type replica struct {
	actor Actor
	set   Set
}

func newSim(t *testing.T, seed uint64, n int) *sim {
	s := &sim{
		t:       t,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		history: []Set{{}},
		issued:  map[Dot]Sibling{},
		last:    map[Actor]uint64{},
		killed:  map[Dot]bool{},
	}
	for i := range n {
		s.replicas = append(s.replicas, replica{actor: Actor{Node: fmt.Sprintf("n%d", i+1), Epoch: 1}})
	}
	return s
}

func (s *sim) record(r int, next Set) {
	s.t.Helper()
	if err := next.Validate(); err != nil {
		s.t.Fatalf("invalid state at replica %d: %v\n%+v", r, err, next)
	}
	s.replicas[r].set = next
	s.history = append(s.history, next)
}

// context picks what a client passes: nothing, a past state's context, the
// replica's current context, or the merge of two past contexts.
func (s *sim) context(r int) VV {
	switch s.rng.IntN(6) {
	case 0:
		return nil
	case 1, 2:
		return s.history[s.rng.IntN(len(s.history))].Context()
	case 3:
		a := s.history[s.rng.IntN(len(s.history))].VV
		b := s.history[s.rng.IntN(len(s.history))].VV
		return a.Merge(b)
	default:
		return s.replicas[r].set.Context()
	}
}

func (s *sim) update(r int) {
	s.t.Helper()
	rep := s.replicas[r]
	ctx := s.context(r)
	before := deepClone(rep.set)
	ctxBefore := ctx.Clone()
	s.nextVal++
	value := fmt.Appendf(nil, "v%d", s.nextVal)
	tombstone := s.rng.IntN(6) == 0

	next, d := rep.set.Update(rep.actor, ctx, value, tombstone)

	if !rep.set.Equal(before) || !ctx.Equal(ctxBefore) {
		s.t.Fatalf("Update modified its inputs")
	}
	if _, dup := s.issued[d]; dup {
		s.t.Fatalf("Update reissued dot %v", d)
	}
	if d.Actor != rep.actor || d.Counter <= s.last[d.Actor] {
		s.t.Fatalf("Update issued %v after counter %d", d, s.last[d.Actor])
	}
	for _, x := range rep.set.Siblings {
		kept := slices.ContainsFunc(next.Siblings, func(y Sibling) bool { return y.Dot == x.Dot })
		if kept == ctx.Covers(x.Dot) {
			s.t.Fatalf("Update: sibling %v kept=%v but ctx covers=%v", x.Dot, kept, ctx.Covers(x.Dot))
		}
	}
	if !next.VV.Equal(rep.set.VV.Merge(ctx).Merge(VV{{d.Actor, d.Counter}})) {
		s.t.Fatalf("Update: vv %v", next.VV)
	}
	for k := range s.issued {
		if ctx.Covers(k) {
			s.killed[k] = true
		}
	}
	s.last[d.Actor] = d.Counter
	s.issued[d] = Sibling{Dot: d, Value: value, Tombstone: tombstone}
	s.record(r, next)
}

func (s *sim) merge(from, to int) {
	s.t.Helper()
	a, b := s.replicas[to].set, s.replicas[from].set
	m := Merge(a, b)
	checkMerge(s.t, a, b, m)
	s.record(to, m)
}

// restart hands a replica's data off to another one, then brings it back
// empty under a new epoch, as a node whose disk was replaced does.
func (s *sim) restart(r int) {
	s.t.Helper()
	s.merge(r, (r+1)%len(s.replicas))
	s.replicas[r].actor.Epoch++
	s.record(r, Set{})
}

func (s *sim) run(steps int) {
	s.t.Helper()
	n := len(s.replicas)
	for range steps {
		switch p := s.rng.IntN(100); {
		case p < 50:
			s.update(s.rng.IntN(n))
		case p < 97:
			from, to := s.rng.IntN(n), s.rng.IntN(n)
			s.merge(from, to)
		default:
			s.restart(s.rng.IntN(n))
		}
	}
}

// converge syncs every replica with every other one and checks they agree
// and hold exactly the writes no context covered.
func (s *sim) converge() {
	s.t.Helper()
	var all Set
	for _, r := range s.replicas {
		all = Merge(all, r.set)
	}
	for i := range s.replicas {
		s.merge(i, i) // idempotent no-op
		s.record(i, Merge(s.replicas[i].set, all))
	}
	for i, r := range s.replicas {
		if !r.set.Equal(s.replicas[0].set) {
			s.t.Fatalf("replica %d did not converge:\n%+v\n%+v", i, r.set, s.replicas[0].set)
		}
	}
	var want []Sibling
	for d, x := range s.issued {
		if !s.killed[d] {
			want = append(want, x)
		}
	}
	slices.SortFunc(want, func(x, y Sibling) int { return x.Dot.Compare(y.Dot) })
	got := s.replicas[0].set.Siblings
	if !slices.EqualFunc(got, want, Sibling.Equal) {
		s.t.Fatalf("converged siblings\n%+v\nwant the writes no context covered\n%+v", got, want)
	}
}

// checkMerge checks m = Merge(a, b) against the definition and the laws that
// need only a and b.
func checkMerge(t *testing.T, a, b, m Set) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatalf("Merge produced an invalid set: %v", err)
	}
	if !m.VV.Equal(a.VV.Merge(b.VV)) {
		t.Fatalf("Merge vv %v, want %v", m.VV, a.VV.Merge(b.VV))
	}
	has := func(s Set, d Dot) bool {
		return slices.ContainsFunc(s.Siblings, func(x Sibling) bool { return x.Dot == d })
	}
	survives := func(x Sibling, other Set) bool { return has(other, x.Dot) || !other.VV.Covers(x.Dot) }
	for _, pair := range [][2]Set{{a, b}, {b, a}} {
		for _, x := range pair[0].Siblings {
			if survives(x, pair[1]) != has(m, x.Dot) {
				t.Fatalf("Merge: sibling %v present=%v, want %v (dropped a concurrent value or kept a superseded one)",
					x.Dot, has(m, x.Dot), survives(x, pair[1]))
			}
		}
	}
	for _, x := range m.Siblings {
		if !has(a, x.Dot) && !has(b, x.Dot) {
			t.Fatalf("Merge invented sibling %v", x.Dot)
		}
	}
	if !Merge(b, a).Equal(m) {
		t.Fatalf("Merge not commutative:\n%+v\n%+v", m, Merge(b, a))
	}
	if !Merge(a, a).Equal(a) {
		t.Fatalf("Merge not idempotent on %+v", a)
	}
	if !Merge(m, a).Equal(m) || !Merge(m, b).Equal(m) {
		t.Fatal("merging an input again changed the result")
	}
}

func checkAssociative(t *testing.T, a, b, c Set) {
	t.Helper()
	l, r := Merge(Merge(a, b), c), Merge(a, Merge(b, c))
	if !l.Equal(r) {
		t.Fatalf("Merge not associative:\na=%+v\nb=%+v\nc=%+v\n(ab)c=%+v\na(bc)=%+v", a, b, c, l, r)
	}
}

func TestPropertyHistories(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newSim(t, seed, 2+int(seed%4))
			s.run(400)
			s.converge()
			// Laws over states drawn from the history.
			for range 300 {
				pick := func() Set { return s.history[s.rng.IntN(len(s.history))] }
				a, b, c := pick(), pick(), pick()
				checkMerge(t, a, b, Merge(a, b))
				checkAssociative(t, a, b, c)
			}
		})
	}
}

// randomSet builds an arbitrary valid set, unrelated to any history, with
// values from a tiny alphabet so that two sets often claim one dot with
// different contents.
func randomSet(rng *rand.Rand) Set {
	actors := []Actor{n1, {Node: "n1", Epoch: 2}, n2, n3} // sorted
	var s Set
	for _, a := range actors {
		if rng.IntN(3) == 0 {
			continue
		}
		c := 1 + rng.Uint64N(4)
		s.VV = append(s.VV, Entry{a, c})
		for k := uint64(1); k <= c; k++ {
			if rng.IntN(3) == 0 {
				s.Siblings = append(s.Siblings, Sibling{
					Dot:       Dot{a, k},
					Value:     []byte{"ab"[rng.IntN(2)]},
					Tombstone: rng.IntN(4) == 0,
				})
			}
		}
	}
	return s
}

func TestPropertyArbitrarySets(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for range 5000 {
		a, b, c := randomSet(rng), randomSet(rng), randomSet(rng)
		mustValid(t, a)
		checkMerge(t, a, b, Merge(a, b))
		checkAssociative(t, a, b, c)
	}
}
