package antientropy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// skipModel is two replicas of one partition, each running the rules of
// Skips the way the storaged shell does, in a random interleaving of
// writes and exchange steps. A replica's data is grow-only (a key is the
// set of write ids it has seen; a merge is the union), as DVV merges are,
// and equal data stands for equal roots. An exchange takes three steps:
// the initiator's snapshot, the peer's answer from its data then, and the
// initiator's end (Found on equal roots, else a merge both ways of the data
// as they are then), so writes land in between.
type skipModel struct {
	rng   *rand.Rand
	nodes [2]*skipNode
	next  int // the next write id
	// foundAtEnd is the shell bug the negative control plants: Found with
	// the tree's seq at the end of the exchange instead of the snapshot's.
	foundAtEnd bool
	// pending are replicated writes on their way to the second replica;
	// watch the writes one replica holds that the other lacked when taken.
	pending []pendingWrite
	watch   []watched
	// verdicts counts Turn's answers, so the test can tell that the rules
	// skipped at all.
	verdicts map[Verdict]int
}

type skipNode struct {
	id    ring.NodeID
	data  map[int]map[int]bool // key -> write ids
	seq   uint64
	skips *Skips
	turns int
	x     *modelExchange // in flight, or nil
}

type modelExchange struct {
	snap            map[int]map[int]bool
	seq             uint64
	answered, equal bool
}

type pendingWrite struct{ to, key, id int }

type watched struct {
	holder, key, id int
	turns           int // the holder's turns when it took the write
}

func newSkipModel(seed uint64, sloppy, foundAtEnd bool) *skipModel {
	m := &skipModel{rng: rand.New(rand.NewPCG(seed, 0x5c1b)), foundAtEnd: foundAtEnd, verdicts: map[Verdict]int{}}
	for i, id := range []ring.NodeID{"a", "b"} {
		m.nodes[i] = &skipNode{id: id, data: map[int]map[int]bool{}, skips: NewSkips()}
		m.nodes[i].skips.anyAnswer = sloppy
	}
	return m
}

func cloneData(d map[int]map[int]bool) map[int]map[int]bool {
	out := make(map[int]map[int]bool, len(d))
	for k, ids := range d {
		out[k] = maps.Clone(ids)
	}
	return out
}

func equalData(a, b map[int]map[int]bool) bool {
	return maps.EqualFunc(a, b, func(x, y map[int]bool) bool { return maps.Equal(x, y) })
}

// add gives node n write id of key, and reports whether it was new there.
func (n *skipNode) add(key, id int) bool {
	if n.data[key][id] {
		return false
	}
	if n.data[key] == nil {
		n.data[key] = map[int]bool{}
	}
	n.data[key][id] = true
	n.seq++
	return true
}

// merge gives n everything of from; a change is one seq step, as a repair's
// merges are applied changes.
func (n *skipNode) merge(from map[int]map[int]bool) {
	for k, ids := range from {
		for id := range ids {
			n.add(k, id)
		}
	}
}

func (m *skipModel) holds(i, key, id int) bool { return m.nodes[i].data[key][id] }

// write gives node i a new write, watched until the other holds it.
func (m *skipModel) write(i int, replicate bool) {
	key, id := m.rng.IntN(8), m.next
	m.next++
	m.nodes[i].add(key, id)
	m.watch = append(m.watch, watched{holder: i, key: key, id: id, turns: m.nodes[i].turns})
	if replicate {
		m.pending = append(m.pending, pendingWrite{to: 1 - i, key: key, id: id})
	}
}

// step runs one random event; it returns an error when a checker fails.
func (m *skipModel) step() error {
	i := m.rng.IntN(2)
	n, peer := m.nodes[i], m.nodes[1-i]
	switch r := m.rng.IntN(20); {
	case r < 3:
		m.write(i, m.rng.IntN(4) != 0) // most writes are replicated, some replicas miss them
	case r < 6 && len(m.pending) > 0:
		j := m.rng.IntN(len(m.pending))
		w := m.pending[j]
		m.pending = append(m.pending[:j], m.pending[j+1:]...)
		if m.rng.IntN(5) != 0 { // some never arrive
			m.nodes[w.to].add(w.key, w.id)
		}
	case n.x == nil && r < 12:
		if err := m.checkLiveness(i); err != nil {
			return err
		}
		n.turns++
		v := n.skips.Turn(0, peer.id, n.seq, false)
		m.verdicts[v]++
		if v == Compare {
			n.x = &modelExchange{snap: cloneData(n.data), seq: n.seq}
		}
	case n.x != nil && !n.x.answered:
		n.x.answered, n.x.equal = true, equalData(peer.data, n.x.snap)
		if n.x.equal {
			peer.skips.Answered(0, n.id)
		}
	case n.x != nil:
		if n.x.equal {
			seq := n.x.seq
			if m.foundAtEnd {
				seq = n.seq
			}
			n.skips.Found(0, peer.id, seq)
		} else {
			n.merge(peer.data)
			peer.merge(n.data)
		}
		n.x = nil
	}
	return m.checkExact()
}

// checkLiveness: when node i is about to take a turn, every write it took
// at least two turns ago that its peer lacked then is on the peer now.
func (m *skipModel) checkLiveness(i int) error {
	kept := m.watch[:0]
	for _, w := range m.watch {
		switch {
		case m.holds(1-w.holder, w.key, w.id):
			continue // arrived: no longer watched
		case w.holder == i && m.nodes[i].turns >= w.turns+2:
			return fmt.Errorf("write %d of key %d, taken by %s %d turns ago, is still missing on %s",
				w.id, w.key, m.nodes[i].id, m.nodes[i].turns-w.turns, m.nodes[1-i].id)
		}
		kept = append(kept, w)
	}
	m.watch = kept
	return nil
}

// checkExact: when both nodes would skip by (U), their data are equal.
func (m *skipModel) checkExact() error {
	a, b := m.nodes[0], m.nodes[1]
	fa, fb := a.skips.pairs[skipPair{0, b.id}], b.skips.pairs[skipPair{0, a.id}]
	if fa == nil || fb == nil || fa.found == 0 || fb.found == 0 || fa.foundSeq != a.seq || fb.foundSeq != b.seq {
		return nil
	}
	if !equalData(a.data, b.data) {
		return fmt.Errorf("both replicas unchanged since finding the pair equal, and their data differ")
	}
	return nil
}

// runSkipModel runs seeds models of steps steps and returns the first
// failure of each seed that failed, and Turn's verdicts over all of them.
func runSkipModel(seeds, steps int, sloppy, foundAtEnd bool) ([]error, map[Verdict]int) {
	var errs []error
	verdicts := map[Verdict]int{}
	for seed := range uint64(seeds) {
		m := newSkipModel(seed, sloppy, foundAtEnd)
		for s := range steps {
			if err := m.step(); err != nil {
				errs = append(errs, fmt.Errorf("seed %d, step %d: %w", seed, s, err))
				break
			}
		}
		for v, n := range m.verdicts {
			verdicts[v] += n
		}
	}
	return errs, verdicts
}

// TestPropertySkipsMissNothing: over random interleavings of writes (most
// replicated, some lost, some landing mid-exchange) and exchange steps, no
// write one replica takes is still missing on the other when the holder
// starts its third turn after taking it, and two replicas that both skip by
// (U) hold the same data; and both rules do skip. The negative controls plant a bug in each rule
// and each checker catches it: (C) granting skips for any old comparison
// leaves writes missing, and Found recording the tree's seq at the end of
// the exchange instead of its snapshot's lets (U) skip a difference.
func TestPropertySkipsMissNothing(t *testing.T) {
	const seeds, steps = 200, 600
	errs, verdicts := runSkipModel(seeds, steps, false, false)
	if len(errs) > 0 {
		t.Fatalf("%d of %d seeds failed; first: %v", len(errs), seeds, errs[0])
	}
	if verdicts[SkipUnchanged] == 0 || verdicts[SkipCompared] == 0 {
		t.Fatalf("turns: %v; want skips of both kinds, or the checkers saw nothing skipped", verdicts)
	}
	t.Logf("turns over all seeds: %v", verdicts)
	for _, c := range []struct {
		name               string
		sloppy, foundAtEnd bool
	}{{"(C) for any old comparison", true, false}, {"Found at the end's seq", false, true}} {
		errs, _ := runSkipModel(seeds, steps, c.sloppy, c.foundAtEnd)
		if len(errs) == 0 {
			t.Errorf("control %q: every seed passed: the checkers are not shown to catch it", c.name)
			continue
		}
		t.Logf("control %q: %d of %d seeds fail, e.g. %v", c.name, len(errs), seeds, errs[0])
	}
}
