package merkle

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

var (
	actorA = dvv.Actor{Node: "n1", Epoch: 7}
	actorB = dvv.Actor{Node: "n2", Epoch: 9}
	actorC = dvv.Actor{Node: "n3", Epoch: 1}
	actors = []dvv.Actor{actorA, actorB, actorC}
)

func keyOf(i int) []byte { return fmt.Appendf(nil, "key-%06d", i) }

func mustNew(tb testing.TB, leaves int) *Tree {
	tb.Helper()
	t, err := New(leaves)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// sampleSet returns an object of three siblings, (n1,2) "again", (n2,1) a
// tombstone "gone" and (n3,1) "world", and a three-entry version vector.
func sampleSet() dvv.Set {
	s, _ := dvv.Set{}.Update(actorA, nil, []byte("hello"), false)
	s, _ = s.Update(actorB, nil, []byte("gone"), true)
	s, _ = s.Update(actorC, nil, []byte("world"), false)
	s, _ = s.Update(actorA, dvv.VV{{Actor: actorA, Counter: 1}}, []byte("again"), false)
	return s
}

// cloneSet deep-copies s, values included.
func cloneSet(s dvv.Set) dvv.Set {
	out := dvv.Set{VV: s.VV.Clone()}
	for _, x := range s.Siblings {
		x.Value = slices.Clone(x.Value)
		out.Siblings = append(out.Siblings, x)
	}
	return out
}

// mutate returns the state of one random operation on s: a blind write
// (sibling), a write with context, a delete (tombstone) or a reap (absent).
func mutate(r *rand.Rand, s dvv.Set) dvv.Set {
	a := actors[r.IntN(len(actors))]
	val := fmt.Appendf(nil, "v%d", r.Uint32())
	switch r.IntN(5) {
	case 0:
		n, _ := s.Update(a, nil, val, false)
		return n
	case 1:
		n, _ := s.Update(a, s.VV, nil, true)
		return n
	case 2:
		return dvv.Set{}
	default:
		n, _ := s.Update(a, s.VV, val, false)
		return n
	}
}

// build returns the tree of leaves leaves rebuilt from scratch from states
// (key i holds states[i]).
func build(tb testing.TB, leaves int, states []dvv.Set) *Tree {
	t := mustNew(tb, leaves)
	for i, s := range states {
		t.Apply(keyOf(i), Hash(keyOf(i), s))
	}
	return t
}
