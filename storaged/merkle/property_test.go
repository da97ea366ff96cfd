package merkle

import (
	"math/rand/v2"
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

// TestIncrementalEqualsRebuilt applies random batches of inserts, updates,
// deletes and reaps incrementally, one delta per mutation, dropping the
// deltas (and the state changes) of batches that fail to commit; after every
// batch the tree must equal one rebuilt from scratch from the committed
// state. A second, larger tree maintained alongside checks that folding
// commutes with applying.
func TestIncrementalEqualsRebuilt(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 10))
		keys := 1 + r.IntN(600)
		states := make([]dvv.Set, keys)
		small, large := mustNew(t, MinLeaves), mustNew(t, 4*MinLeaves)
		for batch := range 60 {
			pending := make(map[int]dvv.Set) // this batch's uncommitted states
			var deltas []struct {
				key   []byte
				delta uint64
			}
			for range 1 + r.IntN(20) {
				k := r.IntN(keys)
				old, ok := pending[k]
				if !ok {
					old = states[k]
				}
				next := mutate(r, old)
				pending[k] = next
				deltas = append(deltas, struct {
					key   []byte
					delta uint64
				}{keyOf(k), Hash(keyOf(k), old) ^ Hash(keyOf(k), next)})
			}
			if r.IntN(5) == 0 {
				continue // the batch failed: nothing committed, no delta applied
			}
			for k, s := range pending {
				states[k] = s
			}
			for _, d := range deltas {
				small.Apply(d.key, d.delta)
				large.Apply(d.key, d.delta)
			}
			if want := build(t, MinLeaves, states); !small.Equal(want) {
				t.Fatalf("seed %d batch %d: incremental tree differs from rebuilt, branches %v",
					seed, batch, DiffBranches(small, want))
			}
			folded, err := large.Fold(MinLeaves)
			if err != nil {
				t.Fatal(err)
			}
			if !folded.Equal(small) {
				t.Fatalf("seed %d batch %d: folded large tree differs from the small one", seed, batch)
			}
		}
	}
}

// TestIncrementalNegativeControl shows the property test can fail: applying
// one failed batch's deltas, or dropping one committed delta, makes the
// incremental tree differ from the rebuilt one.
func TestIncrementalNegativeControl(t *testing.T) {
	states := make([]dvv.Set, 50)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range states {
		states[i] = mutate(r, dvv.Set{})
		for states[i].Equal(dvv.Set{}) {
			states[i] = mutate(r, dvv.Set{})
		}
	}
	tr := build(t, MinLeaves, states)
	failed := mutate(r, states[3])
	for failed.Equal(states[3]) {
		failed = mutate(r, states[3])
	}
	tr.Apply(keyOf(3), Hash(keyOf(3), states[3])^Hash(keyOf(3), failed))
	if tr.Equal(build(t, MinLeaves, states)) {
		t.Fatal("a failed batch's delta left the tree equal to the rebuilt one")
	}
	dropped := build(t, MinLeaves, states[:49])
	if dropped.Equal(build(t, MinLeaves, states)) {
		t.Fatal("a dropped delta left the tree equal to the rebuilt one")
	}
}
