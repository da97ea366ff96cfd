package dvv

import (
	"slices"
)

// Entry is one actor's component of a version vector.
type Entry struct {
	Actor   Actor
	Counter uint64
}

// VV is a version vector: entries sorted strictly by Actor (so at most one
// per actor), every counter greater than zero. It is downward closed: an
// entry (a, c) means every dot (a, 1..c) has been seen. An actor without an
// entry has counter 0.
//
// The nil VV is valid and empty: it has seen nothing. Methods never modify
// their receiver or arguments, and results never share a backing array with
// them.
type VV []Entry

// Get returns the counter of actor a, 0 when v has no entry for it.
func (v VV) Get(a Actor) uint64 {
	i, ok := slices.BinarySearchFunc(v, a, func(e Entry, a Actor) int { return e.Actor.Compare(a) })
	if !ok {
		return 0
	}
	return v[i].Counter
}

// Covers reports whether v has seen dot d: d.Counter <= v.Get(d.Actor).
func (v VV) Covers(d Dot) bool {
	return d.Counter <= v.Get(d.Actor)
}

// Merge returns the pointwise maximum of v and w (the least upper bound) in
// a new slice; it is nil when both are empty. Both inputs must be valid.
func (v VV) Merge(w VV) VV {
	if len(v) == 0 && len(w) == 0 {
		return nil
	}
	out := make(VV, 0, max(len(v), len(w)))
	i, j := 0, 0
	for i < len(v) && j < len(w) {
		switch c := v[i].Actor.Compare(w[j].Actor); {
		case c < 0:
			out = append(out, v[i])
			i++
		case c > 0:
			out = append(out, w[j])
			j++
		default:
			out = append(out, Entry{Actor: v[i].Actor, Counter: max(v[i].Counter, w[j].Counter)})
			i++
			j++
		}
	}
	out = append(out, v[i:]...)
	return append(out, w[j:]...)
}

// Descends reports whether v has seen everything w has: v >= w pointwise.
// Every VV descends from itself and from the empty VV. Both inputs must be
// valid.
func (v VV) Descends(w VV) bool {
	i := 0
	for _, e := range w {
		for i < len(v) && v[i].Actor.Compare(e.Actor) < 0 {
			i++
		}
		if i == len(v) || v[i].Actor != e.Actor || v[i].Counter < e.Counter {
			return false
		}
	}
	return true
}

// Equal reports whether v and w have the same entries; nil and empty are
// equal.
func (v VV) Equal(w VV) bool {
	return slices.Equal(v, w)
}

// Clone returns a copy of v that shares no memory with it (nil for an empty
// v).
func (v VV) Clone() VV {
	if len(v) == 0 {
		return nil
	}
	return slices.Clone(v)
}

// Validate reports whether v keeps the VV invariants: valid actors sorted
// strictly (no duplicates) and no zero counters. Errors wrap ErrInvalid.
func (v VV) Validate() error {
	for i, e := range v {
		if p := e.Actor.problem(); p != "" {
			return invalidf("vv entry %d (%q): %s", i, e.Actor.Node, p)
		}
		if e.Counter == 0 {
			return invalidf("vv entry %d (%s): zero counter", i, e.Actor)
		}
		if i > 0 && v[i-1].Actor.Compare(e.Actor) >= 0 {
			return invalidf("vv entry %d (%s): not sorted strictly after %s", i, e.Actor, v[i-1].Actor)
		}
	}
	return nil
}
