package dvv

import (
	"cmp"
	"fmt"
)

// Dot names one event: the Counter-th write coordinated by Actor. Counters
// start at 1; the zero Dot names no event.
type Dot struct {
	Actor   Actor
	Counter uint64
}

// Compare orders dots by actor and then by counter. It returns -1, 0 or +1.
func (d Dot) Compare(e Dot) int {
	if c := d.Actor.Compare(e.Actor); c != 0 {
		return c
	}
	return cmp.Compare(d.Counter, e.Counter)
}

// String returns the actor and the counter, for example
// "n1.00000000075bcd15:7".
func (d Dot) String() string {
	return fmt.Sprintf("%s:%d", d.Actor, d.Counter)
}

// Validate reports whether d names an event: a valid actor and a non-zero
// counter. Errors wrap ErrInvalid.
func (d Dot) Validate() error {
	if p := d.problem(); p != "" {
		return invalidf("dot %s: %s", d, p)
	}
	return nil
}

// problem describes what makes d invalid, or returns "".
func (d Dot) problem() string {
	if p := d.Actor.problem(); p != "" {
		return p
	}
	if d.Counter == 0 {
		return "zero counter"
	}
	return ""
}
