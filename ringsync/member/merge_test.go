package member

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

type mergeFunc func(a, b *State) (*State, error)

// checkCommutative reports a pair of states drawn from u on which merge is
// not commutative, of results and of failures alike.
func checkCommutative(tb testing.TB, merge mergeFunc, u *universe, seed uint64, cases int) error {
	rng := rand.New(rand.NewPCG(seed, 11))
	for i := range cases {
		a, b := u.draw(rng, i%2 == 1), u.draw(rng, i%2 == 1)
		ab, err1 := merge(a, b)
		ba, err2 := merge(b, a)
		if !same(tb, ab, err1, ba, err2) {
			return fmt.Errorf("case %d: not commutative (%v, %v)", i, err1, err2)
		}
	}
	return nil
}

// checkSemilattice reports the first law merge breaks on states drawn from
// u: commutativity, associativity where both groupings succeed, idempotence,
// and inflation (the result is at least as new as each argument, and merging
// either argument into it changes nothing).
func checkSemilattice(tb testing.TB, merge mergeFunc, u *universe, seed uint64, cases int) error {
	if err := checkCommutative(tb, merge, u, seed, cases); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 12))
	for i := range cases {
		forks := i%2 == 1
		a, b, c := u.draw(rng, forks), u.draw(rng, forks), u.draw(rng, forks)
		if aa, err := merge(a, a); err != nil || !same(tb, aa, nil, a, nil) {
			return fmt.Errorf("case %d: not idempotent (%v)", i, err)
		}
		var l, r *State
		ab, errL := merge(a, b)
		if errL == nil {
			l, errL = merge(ab, c)
		}
		bc, errR := merge(b, c)
		if errR == nil {
			r, errR = merge(a, bc)
		}
		// A conflict between two values is shadowed by a newer third one,
		// so one grouping may succeed where the other fails; where both
		// succeed they must agree.
		if errL == nil && errR == nil && !same(tb, l, nil, r, nil) {
			return fmt.Errorf("case %d: not associative", i)
		}
		if ab == nil {
			continue
		}
		if ab.Version() != max(a.Version(), b.Version()) {
			return fmt.Errorf("case %d: merged version %d of %d and %d", i, ab.Version(), a.Version(), b.Version())
		}
		for _, x := range []*State{a, b} {
			if again, err := merge(ab, x); err != nil || !same(tb, again, nil, ab, nil) {
				return fmt.Errorf("case %d: merging an argument into the result changed it (%v)", i, err)
			}
			for _, rec := range x.records {
				got, _ := ab.Record(rec.ID)
				if cmpRecord(got, rec) < 0 {
					return fmt.Errorf("case %d: record of %q went back", i, rec.ID)
				}
			}
		}
	}
	return nil
}

func TestMergeIsASemilattice(t *testing.T) {
	u := newUniverse(t)
	for seed := range uint64(4) {
		if err := checkSemilattice(t, Merge, u, seed, 300); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// The property must catch merges that are wrong in the ways riak_core's was.
func TestMergePropertyCatchesMutants(t *testing.T) {
	u := newUniverse(t)
	// A tie broken by argument order must fail commutativity alone.
	tie := func(a, b *State) (*State, error) {
		m, err := Merge(a, b)
		if errors.Is(err, ErrConflict) {
			return a, nil
		}
		return m, err
	}
	if err := checkCommutative(t, tie, u, 1, 300); err == nil {
		t.Errorf("a merge that breaks ties by argument order is commutative")
	}
	mutants := map[string]mergeFunc{
		"tie by argument order": func(a, b *State) (*State, error) {
			m, err := Merge(a, b)
			if errors.Is(err, ErrConflict) {
				return a, nil
			}
			return m, err
		},
		// The older claim wins: still a semilattice, but it goes back.
		"lower version wins": func(a, b *State) (*State, error) {
			m, err := Merge(a, b)
			if err != nil {
				return m, err
			}
			t := *m
			if a.Version() < b.Version() {
				t.claim = a.claim
			} else {
				t.claim = b.claim
			}
			return &t, nil
		},
		// Records: the higher Seen wins rather than the higher seq.
		"records by seen": func(a, b *State) (*State, error) {
			m, err := Merge(a, b)
			if err != nil {
				return m, err
			}
			t := *m
			t.records = append([]Record(nil), m.records...)
			for i, r := range t.records {
				for _, x := range []*State{a, b} {
					if o, ok := x.Record(r.ID); ok && o.Seen > t.records[i].Seen {
						t.records[i] = o
					}
				}
			}
			return &t, nil
		},
	}
	for name, merge := range mutants {
		if err := checkSemilattice(t, merge, u, 1, 300); err == nil {
			t.Errorf("mutant %q passed the semilattice property", name)
		} else {
			t.Logf("mutant %q caught: %v", name, err)
		}
	}
}

func TestMergeRejects(t *testing.T) {
	u := newUniverse(t)
	a := must(t)(New("c1", u.claims[0].Ring))
	b := must(t)(New("c2", u.claims[0].Ring))
	if _, err := Merge(a, b); !errors.Is(err, ErrCluster) {
		t.Errorf("different clusters: %v", err)
	}
	fork := &State{cluster: "c1", claim: u.forks[0]}
	if _, err := Merge(a, fork); !errors.Is(err, ErrConflict) {
		t.Errorf("two claims at one version: %v", err)
	}
	withRec := func(s *State, r Record) *State { return must(t)(s.WithRecord(r)) }
	rec := u.records["n0"][1]
	if _, err := Merge(withRec(a, rec), withRec(a, u.rforks["n0"][1])); !errors.Is(err, ErrConflict) {
		t.Errorf("two records at one seq: %v", err)
	}
	sa := must(t)(a.WithStaged([]Change{{Kind: Leave, ID: "n1"}}))
	sb := must(t)(a.WithStaged([]Change{{Kind: Leave, ID: "n2"}}))
	if _, err := Merge(sa, sb); !errors.Is(err, ErrConflict) {
		t.Errorf("two staged lists at one revision: %v", err)
	}
}

// Gossip in any order converges: nodes that repeatedly merge with random
// peers end with the merge of all their states.
func TestGossipConverges(t *testing.T) {
	u := newUniverse(t)
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 50 {
		nodes := make([]*State, 6)
		want := u.draw(rng, false)
		for i := range nodes {
			nodes[i] = u.draw(rng, false)
			var err error
			if want, err = Merge(want, nodes[i]); err != nil {
				t.Fatal(err)
			}
		}
		for range 200 {
			i, j := rng.IntN(len(nodes)), rng.IntN(len(nodes))
			m, err := Merge(nodes[i], nodes[j])
			if err != nil {
				t.Fatal(err)
			}
			nodes[i], nodes[j] = m, m
		}
		for i, s := range nodes {
			if s.Digest() != want.Digest() {
				// 200 random exchanges among 6 nodes leave a node out with
				// negligible probability; the fold includes an extra draw, so
				// merge it in before comparing.
				m, _ := Merge(s, want)
				if m.Digest() != want.Digest() {
					t.Fatalf("trial %d: node %d diverged", trial, i)
				}
			}
		}
	}
}
