package dvv

import (
	"math"
	"slices"
)

// Set is a dotted version vector set: the state of one object. Siblings are
// the concurrent values, each with the dot of the write that created it; VV
// summarises every event the object has seen, including writes whose values
// were since overwritten.
//
// Invariants (checked by Validate): VV is valid; every sibling dot is valid
// and covered by VV; siblings are sorted strictly by dot, so no dot appears
// twice. The zero Set is valid: an object that has seen nothing.
//
// Operations return new Sets and never modify their inputs. Results never
// share a Siblings or VV backing array with an input; sibling values are
// shared (see the package documentation).
type Set struct {
	Siblings []Sibling
	VV       VV
}

// NextDot returns the dot Update would assign for a write coordinated by
// actor under causal context ctx: (actor, max(s.VV.Get(actor),
// ctx.Get(actor))+1). Taking ctx into account matters when the client has seen
// a dot of actor that s has not (a context taken from another key, or forged):
// reusing such a dot would let the context swallow the new write.
//
// It fails with ErrExhausted when the counter would overflow, which only a
// forged context can cause; callers that pass untrusted contexts to Update
// call NextDot first.
func (s Set) NextDot(actor Actor, ctx VV) (Dot, error) {
	c := max(s.VV.Get(actor), ctx.Get(actor))
	if c == math.MaxUint64 {
		return Dot{}, ErrExhausted
	}
	return Dot{Actor: actor, Counter: c + 1}, nil
}

// Update records a new write of value coordinated by actor, given the causal
// context ctx the client read (nil for a blind write). It returns the new
// state and the new write's dot (see NextDot).
//
// Siblings whose dots ctx covers are dropped: the client saw them and this
// write supersedes them. Siblings ctx does not cover are concurrent with the
// write and stay. The result's VV is s.VV merged with ctx and the new dot.
//
// s and ctx must be valid. Update copies value; the result shares the
// surviving siblings' values with s. It panics if actor is invalid or if the
// counter would overflow (see NextDot): both are caller bugs, not bad input.
func (s Set) Update(actor Actor, ctx VV, value []byte, tombstone bool) (Set, Dot) {
	if err := actor.Validate(); err != nil {
		panic("dvv: update: " + err.Error())
	}
	dot, err := s.NextDot(actor, ctx)
	if err != nil {
		panic("dvv: update: counter exhausted; check NextDot before Update with an untrusted context")
	}
	sib := Sibling{Dot: dot, Value: cloneValue(value), Tombstone: tombstone}

	out := make([]Sibling, 0, len(s.Siblings)+1)
	for _, x := range s.Siblings {
		if !ctx.Covers(x.Dot) {
			out = append(out, x)
		}
	}
	// The new counter exceeds every counter of actor in s, so the new sibling
	// goes after the actor's other siblings.
	i, _ := slices.BinarySearchFunc(out, dot, func(x Sibling, d Dot) int { return x.Dot.Compare(d) })
	out = slices.Insert(out, i, sib)

	vv := s.VV.Merge(ctx).Merge(VV{{Actor: actor, Counter: dot.Counter}})
	return Set{Siblings: out, VV: vv}, dot
}

// cloneValue copies v; nil and empty values both become nil.
func cloneValue(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return slices.Clone(v)
}

// Values returns the values of the non-tombstone siblings in sibling order
// (by dot), or nil when there are none. The returned slice is new; the byte
// slices in it are shared with s and must not be modified.
func (s Set) Values() [][]byte {
	var out [][]byte
	for _, x := range s.Siblings {
		if !x.Tombstone {
			out = append(out, x.Value)
		}
	}
	return out
}

// Live reports whether s has at least one non-tombstone sibling: whether a
// read should see the object as present.
func (s Set) Live() bool {
	for _, x := range s.Siblings {
		if !x.Tombstone {
			return true
		}
	}
	return false
}

// Context returns the causal context a client passes back with its next
// write: a copy of s.VV.
func (s Set) Context() VV {
	return s.VV.Clone()
}

// Equal reports whether s and t have equal siblings (in order) and equal
// version vectors. Nil and empty slices are equal.
func (s Set) Equal(t Set) bool {
	return slices.EqualFunc(s.Siblings, t.Siblings, Sibling.Equal) && s.VV.Equal(t.VV)
}

// Validate reports whether s keeps the Set invariants (see Set). Errors wrap
// ErrInvalid.
func (s Set) Validate() error {
	if err := s.VV.Validate(); err != nil {
		return err
	}
	for i, x := range s.Siblings {
		if p := x.Dot.problem(); p != "" {
			return invalidf("sibling %d (%s): %s", i, x.Dot, p)
		}
		if i > 0 && s.Siblings[i-1].Dot.Compare(x.Dot) >= 0 {
			return invalidf("sibling %d (%s): not sorted strictly after %s", i, x.Dot, s.Siblings[i-1].Dot)
		}
		if !s.VV.Covers(x.Dot) {
			return invalidf("sibling %d (%s): dot not covered by the vv", i, x.Dot)
		}
	}
	return nil
}
