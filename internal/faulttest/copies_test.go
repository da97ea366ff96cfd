package faulttest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// The pure half of checking replicas one node at a time: which copies an
// acknowledged write must have, and what one node's answer proves about its
// copy. The shell that asks the nodes is inspector (inspector_test.go).

// write is one acknowledged put: the key and the value it stored.
type write struct {
	key, value []byte
}

// copyRef names one primary's copy of one acknowledged write (an index into
// the writes being checked).
type copyRef struct {
	node  ring.NodeID
	write int
}

// copiesOn lists a copy of every write on each of its key's N primaries in
// r that keep accepts (nil: every primary), in write order and then
// preference order. The caller owns the slice.
func copiesOn(r *ring.Ring, n int, writes []write, keep func(ring.NodeID) bool) []copyRef {
	var out []copyRef
	for i, w := range writes {
		primaries, _ := r.Preference(w.key, n)
		for _, p := range primaries {
			if keep == nil || keep(p.ID) {
				out = append(out, copyRef{node: p.ID, write: i})
			}
		}
	}
	return out
}

// answer is what a node said of its own copy of a key: a wire.Get answer
// (or the call's error), whether the node held no hint record at all when
// it was asked, and, if asked, what its objects bucket holds for the key. A
// node's Get merges its objects with the hints it holds for the key
// (storaged's get), so the answer is its objects bucket alone only if it
// held no hints, or if its objects bucket holds exactly the object
// answered.
type answer struct {
	got      wire.GetOK
	err      error
	hintFree bool
	objects  objectsCopy
}

// objectsCopy is what a node's listing of its objects bucket
// (wire.ExchangeKeys, a scan of the bucket, no hints) says of one key: not
// asked, absent, or the merkle.Hash of the object stored under it.
type objectsCopy struct {
	asked, found bool
	hash         uint64
}

// verdict is what an answer proves about one copy.
type verdict int

const (
	// held: the node's objects bucket holds the value as a live sibling.
	held verdict = iota + 1
	// missing: the node answered, and its copy lacks the value.
	missing
	// unproven: the answer has the value, but the node held hints, which
	// its answer merged in, and its objects bucket is not shown to hold
	// that same object.
	unproven
	// unreachable: the call failed; nothing is known.
	unreachable
)

func (v verdict) String() string {
	switch v {
	case held:
		return "held"
	case missing:
		return "missing"
	case unproven:
		return "unproven (node held hints)"
	case unreachable:
		return "unreachable"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// judge says what a shows about the copy of w that it answers for: held
// only if w's value is a live (non-tombstone) sibling of an object that is
// the node's objects bucket's own: the node held no hints, or the object
// stored has the same hash (64 bits: merkle.Hash) as the one answered.
// Objects only grow by merge, so a value held stays held while nothing
// writes over it, whichever of the two reads came first.
func judge(w write, a answer) verdict {
	switch {
	case a.err != nil:
		return unreachable
	case !a.got.Found || !slices.ContainsFunc(a.got.Object.Values(), func(v []byte) bool { return bytes.Equal(v, w.value) }):
		return missing
	case a.hintFree:
		return held
	case a.objects.asked && !a.objects.found:
		return missing // the value came from a hint; the objects bucket lacks the key
	case a.objects.asked && a.objects.hash == merkle.Hash(w.key, a.got.Object):
		return held
	}
	return unproven
}

// tally counts verdicts by kind and keeps a few examples for a report.
type tally struct {
	counts   map[verdict]int
	examples []string
}

// note counts v for copy c of w with answer a.
func (t *tally) note(c copyRef, w write, a answer, v verdict) {
	if t.counts == nil {
		t.counts = make(map[verdict]int)
	}
	t.counts[v]++
	if v == held || len(t.examples) >= 5 {
		return
	}
	detail := fmt.Sprintf("values %q", a.got.Object.Values())
	if a.err != nil {
		detail = a.err.Error()
	}
	t.examples = append(t.examples, fmt.Sprintf("%s on %s: %s (%s)", w.key, c.node, v, detail))
}

// String reports the counts in verdict order and the examples.
func (t tally) String() string {
	var b strings.Builder
	for _, v := range []verdict{held, missing, unproven, unreachable} {
		fmt.Fprintf(&b, "%s %d; ", v, t.counts[v])
	}
	if len(t.examples) > 0 {
		fmt.Fprintf(&b, "e.g. %s", strings.Join(t.examples, "; "))
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// TestJudge is the checker's negative control at unit level: every way a
// copy can fall short is told apart from a held copy.
func TestJudge(t *testing.T) {
	a1, a2 := dvv.Actor{Node: "n1", Epoch: 1}, dvv.Actor{Node: "n2", Epoch: 2}
	one, _ := dvv.Set{}.Update(a1, nil, []byte("v"), false)
	other, _ := dvv.Set{}.Update(a1, nil, []byte("w"), false)
	siblings, _ := one.Update(a2, nil, []byte("w"), false) // concurrent: both live
	deleted, _ := one.Update(a2, one.Context(), nil, true) // v superseded by a tombstone
	w := write{key: []byte("k"), value: []byte("v")}
	listed := func(obj dvv.Set) objectsCopy {
		return objectsCopy{asked: true, found: true, hash: merkle.Hash(w.key, obj)}
	}
	for _, tc := range []struct {
		name string
		a    answer
		want verdict
	}{
		{"value alone", answer{got: wire.GetOK{Found: true, Object: one}, hintFree: true}, held},
		{"value among siblings", answer{got: wire.GetOK{Found: true, Object: siblings}, hintFree: true}, held},
		{"not found", answer{hintFree: true}, missing},
		{"another value", answer{got: wire.GetOK{Found: true, Object: other}, hintFree: true}, missing},
		{"superseded by a tombstone", answer{got: wire.GetOK{Found: true, Object: deleted}, hintFree: true}, missing},
		{"value, but hints merged in", answer{got: wire.GetOK{Found: true, Object: one}}, unproven},
		{"no value even with hints merged in", answer{got: wire.GetOK{Found: true, Object: other}}, missing},
		{"hints merged in, objects the same", answer{got: wire.GetOK{Found: true, Object: siblings}, objects: listed(siblings)}, held},
		{"hints merged in, objects differ", answer{got: wire.GetOK{Found: true, Object: siblings}, objects: listed(other)}, unproven},
		{"hints merged in, objects lack the key", answer{got: wire.GetOK{Found: true, Object: one}, objects: objectsCopy{asked: true}}, missing},
		{"call failed", answer{err: errors.New("timeout"), hintFree: true}, unreachable},
	} {
		if got := judge(w, tc.a); got != tc.want {
			t.Errorf("%s: judged %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestCopiesOn: one copy per primary of each write, filtered by node.
func TestCopiesOn(t *testing.T) {
	var nodes []ring.Node
	for i := range 5 {
		nodes = append(nodes, ring.Node{ID: ring.NodeID(fmt.Sprintf("n%d", i+1)), Addr: fmt.Sprintf("127.0.0.%d:1", i+1)})
	}
	r, err := ring.New(64, nodes)
	if err != nil {
		t.Fatal(err)
	}
	writes := []write{{key: []byte("a")}, {key: []byte("b")}}
	all := copiesOn(r, 3, writes, nil)
	if len(all) != 6 {
		t.Fatalf("%d copies of 2 writes at N=3, want 6: %v", len(all), all)
	}
	primaries, _ := r.Preference([]byte("b"), 3)
	only := copiesOn(r, 3, writes, func(id ring.NodeID) bool { return id == primaries[0].ID })
	if !slices.Contains(only, copyRef{node: primaries[0].ID, write: 1}) || slices.ContainsFunc(only, func(c copyRef) bool { return c.node != primaries[0].ID }) {
		t.Fatalf("copies on %s: %v", primaries[0].ID, only)
	}
}
