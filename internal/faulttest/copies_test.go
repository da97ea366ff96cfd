package faulttest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
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
// (or the call's error), and whether the node held no hint record at all
// when it was asked. A node's Get merges its objects with the hints it
// holds for the key (storaged's get), so only a node holding no hints
// answers with its objects bucket alone.
type answer struct {
	got      wire.GetOK
	err      error
	hintFree bool
}

// verdict is what an answer proves about one copy.
type verdict int

const (
	// held: the node's objects bucket holds the value as a live sibling.
	held verdict = iota + 1
	// missing: the node answered, and its copy lacks the value.
	missing
	// unproven: the answer has the value, but the node held hints, which
	// its answer merged in, so its objects bucket may lack it.
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

// judge says what a shows about a copy that must hold value: held only if
// the value is a live (non-tombstone) sibling of an answer that came from
// the objects bucket alone.
func judge(value []byte, a answer) verdict {
	switch {
	case a.err != nil:
		return unreachable
	case !a.got.Found || !slices.ContainsFunc(a.got.Object.Values(), func(v []byte) bool { return bytes.Equal(v, value) }):
		return missing
	case !a.hintFree:
		return unproven
	}
	return held
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
