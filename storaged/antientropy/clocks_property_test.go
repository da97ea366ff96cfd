package antientropy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire/dvv"
)

// histories makes two replicas' objects of n keys from random histories: a
// key written by any of three actors (the last by one of the sides' own,
// actorA here and actorB there), then written again on either side with
// that side's actor (a node coordinates only its own replica, so no dot is
// issued twice), at times merged one way (an earlier repair), at times
// missing on one side; a few keys get a second value under the same dot (a
// dot issued twice, listed in forged).
func histories(rng *rand.Rand, n int) (local, peer map[string]dvv.Set, forged map[string]bool) {
	local, peer, forged = make(map[string]dvv.Set, n), make(map[string]dvv.Set, n), make(map[string]bool)
	actorC := dvv.Actor{Node: "c", Epoch: 3}
	for i := range n {
		k := fmt.Sprintf("k%05d", i)
		base := write(dvv.Set{}, []dvv.Actor{actorA, actorB, actorC}[rng.IntN(3)], "v0")
		l, p := base, base
		for step := range rng.IntN(4) {
			switch rng.IntN(5) {
			case 0, 1:
				l = write(l, actorA, fmt.Sprintf("l%d", step))
			case 2, 3:
				p = write(p, actorB, fmt.Sprintf("p%d", step))
			case 4:
				if rng.IntN(2) == 0 {
					l = dvv.Merge(l, p)
				} else {
					p = dvv.Merge(p, l)
				}
			}
		}
		switch rng.IntN(20) {
		case 0:
			l = dvv.Set{}
		case 1:
			p = dvv.Set{}
		case 2:
			if len(p.Siblings) == 1 {
				// Sorting before or after the first value: the merge keeps the smaller.
				v := []string{"a-forged", "z-forged"}[rng.IntN(2)]
				p.Siblings = []dvv.Sibling{{Dot: p.Siblings[0].Dot, Value: []byte(v)}}
				forged[k] = true
			}
		}
		if len(l.VV) > 0 {
			local[k] = l
		}
		if len(p.VV) > 0 {
			peer[k] = p
		}
	}
	return local, peer, forged
}

// applyRepairs plays the shell's repairs of o on copies of local and peer:
// fetch merges the peer's object here, push merges this side's there unless
// the key is in o.theirs and this side's object now hashes to it. It
// returns the states after and the objects each key moved.
func applyRepairs(local, peer map[string]dvv.Set, o outcome) (l, p map[string]dvv.Set, moves map[string]int) {
	l, p, moves = maps.Clone(local), maps.Clone(peer), make(map[string]int)
	for _, k := range o.fetch {
		if obj, ok := p[k]; ok {
			l[k] = dvv.Merge(l[k], obj)
			moves[k]++
		}
	}
	for _, k := range o.push {
		obj, ok := l[k]
		if !ok {
			continue
		}
		if h, known := o.theirs[k]; known && merkle.Hash([]byte(k), obj) == h {
			continue
		}
		p[k] = dvv.Merge(p[k], obj)
		moves[k]++
	}
	return l, p, moves
}

// checkMoves fails unless the repairs made the two replicas equal and moved
// each key no more than it had to: nothing for a key equal on both sides,
// one object for a key one side lacks or whose clock on one side descends
// the other's strictly, two for concurrent or equal clocks. Keys of forged,
// which hold a dot issued twice, may stay apart: when their clocks differ,
// the one-way merge makes them equal, and the next exchange repairs them
// both ways.
func checkMoves(local, peer, after, afterPeer map[string]dvv.Set, moves map[string]int, forged map[string]bool) error {
	keys := slices.Sorted(maps.Keys(local))
	for k := range peer {
		if _, ok := local[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if !after[k].Equal(afterPeer[k]) && !forged[k] {
			return fmt.Errorf("%s differs after the repairs: %v here, %v there", k, after[k], afterPeer[k])
		}
		l, lok := local[k]
		p, pok := peer[k]
		need := 2
		switch {
		case lok && pok && merkle.Hash([]byte(k), l) == merkle.Hash([]byte(k), p):
			need = 0
		case !lok || !pok:
			need = 1
		case !l.VV.Equal(p.VV) && (l.VV.Descends(p.VV) || p.VV.Descends(l.VV)):
			need = 1
		}
		if moves[k] > need {
			return fmt.Errorf("%s moved %d objects, needs %d (here %v, there %v)", k, moves[k], need, l.VV, p.VV)
		}
	}
	return nil
}

// TestPropertyEachObjectMovesOnce: for random histories of real DVV objects,
// random tree sizes and bounds, the exchange's repairs, played as the shell
// plays them, leave the two replicas equal and move each differing object
// once, twice only when the clocks are concurrent or equal; keys holding a
// dot issued twice may need a second exchange, which leaves every key
// equal (and one more finds nothing to repair). Negative
// controls: the same checker refuses the repairs with every fetch left out
// (the replicas stay apart), and the repairs the exchange made before it
// compared clocks (every key both sides hold differently fetched, then
// pushed back if the merge changed it), which move some objects twice.
func TestPropertyEachObjectMovesOnce(t *testing.T) {
	sizes := []int{256, 1024}
	caught := [2]int{}
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		local, peer, forged := histories(rng, 50+rng.IntN(400))
		cfg := Config{MaxBranches: 1 + rng.IntN(8), MaxLeaves: 1 + rng.IntN(8), MaxKeys: 1 + rng.IntN(16), MaxClocks: 1 + rng.IntN(16)}
		if seed%3 == 0 {
			cfg = Config{}
		}
		ls, ps := sizes[rng.IntN(2)], sizes[rng.IntN(2)]
		o := run(t, cfg, objReplica(t, ls, local), objReplica(t, ps, peer), nil)
		if o.err != nil {
			t.Fatalf("seed %d: %v", seed, o.err)
		}
		l, p, moves := applyRepairs(local, peer, o)
		if err := checkMoves(local, peer, l, p, moves, forged); err != nil {
			t.Fatalf("seed %d (%+v): %v", seed, cfg, err)
		}
		o2 := run(t, cfg, objReplica(t, ls, l), objReplica(t, ps, p), nil)
		l2, p2, moves2 := applyRepairs(l, p, o2)
		if err := checkMoves(l, p, l2, p2, moves2, nil); err != nil {
			t.Fatalf("seed %d, second exchange: %v", seed, err)
		}
		if o3 := run(t, cfg, objReplica(t, ls, l2), objReplica(t, ps, p2), nil); !o3.equal {
			t.Fatalf("seed %d: a third exchange finds %d keys to repair", seed, o3.stats.KeysDiffer)
		}

		noFetch := o
		noFetch.fetch = nil
		if l, p, moves := applyRepairs(local, peer, noFetch); checkMoves(local, peer, l, p, moves, forged) != nil {
			caught[0]++
		}
		old := hashOnly(local, peer, o)
		if l, p, moves := applyRepairs(local, peer, old); checkMoves(local, peer, l, p, moves, forged) != nil {
			caught[1]++
		}
	}
	if caught[0] < 35 || caught[1] < 35 {
		t.Fatalf("the checker caught the repairs without fetches in %d of 40 seeds, the hash-only repairs in %d; want nearly all", caught[0], caught[1])
	}
}

// hashOnly is o as the exchange made it before the clock round: every key
// both sides hold differently fetched and pushed, with the peer's hash.
func hashOnly(local, peer map[string]dvv.Set, o outcome) outcome {
	old := outcome{theirs: map[string]uint64{}}
	for k, p := range peer {
		l, ok := local[k]
		switch {
		case !ok:
			old.fetch = append(old.fetch, k)
		case merkle.Hash([]byte(k), l) != merkle.Hash([]byte(k), p):
			old.fetch, old.push = append(old.fetch, k), append(old.push, k)
			old.theirs[k] = merkle.Hash([]byte(k), p)
		}
	}
	for k := range local {
		if _, ok := peer[k]; !ok {
			old.push = append(old.push, k)
		}
	}
	return old
}
