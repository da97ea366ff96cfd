package antientropy

import (
	"testing"
)

// TestSkipsScripted walks one pair through the rules: a pair with no facts
// is compared; (U) skips while the tree stays at the seq of the latest
// Found and stops once it moves; (C) grants one skip per Answered that came
// after the previous turn; a full turn compares whatever the facts; facts
// are per pair.
func TestSkipsScripted(t *testing.T) {
	s := NewSkips()
	steps := []struct {
		name string
		do   func() Verdict // nil: a step that only records a fact
		fact func()
		want Verdict
	}{
		{name: "no facts", do: func() Verdict { return s.Turn(1, "n2", 5, false) }, want: Compare},
		{name: "found at seq 5", fact: func() { s.Found(1, "n2", 5) }},
		{name: "unchanged", do: func() Verdict { return s.Turn(1, "n2", 5, false) }, want: SkipUnchanged},
		{name: "full turn, unchanged", do: func() Verdict { return s.Turn(1, "n2", 5, true) }, want: Compare},
		{name: "changed", do: func() Verdict { return s.Turn(1, "n2", 6, false) }, want: Compare},
		{name: "peer compared", fact: func() { s.Answered(1, "n2") }},
		{name: "compared since the last turn", do: func() Verdict { return s.Turn(1, "n2", 7, false) }, want: SkipCompared},
		{name: "the same comparison grants no second skip", do: func() Verdict { return s.Turn(1, "n2", 7, false) }, want: Compare},
		{name: "peer compared again", fact: func() { s.Answered(1, "n2") }},
		{name: "full turn, compared", do: func() Verdict { return s.Turn(1, "n2", 8, true) }, want: Compare},
		{name: "a full turn uses up the comparison", do: func() Verdict { return s.Turn(1, "n2", 8, false) }, want: Compare},
		{name: "other peer: no facts", do: func() Verdict { return s.Turn(1, "n3", 5, false) }, want: Compare},
		{name: "other partition: no facts", do: func() Verdict { return s.Turn(2, "n2", 5, false) }, want: Compare},
		{name: "found again at seq 8", fact: func() { s.Found(1, "n2", 8) }},
		{name: "unchanged at 8", do: func() Verdict { return s.Turn(1, "n2", 8, false) }, want: SkipUnchanged},
	}
	for _, st := range steps {
		if st.fact != nil {
			st.fact()
			continue
		}
		if got := st.do(); got != st.want {
			t.Fatalf("%s: %v, want %v", st.name, got, st.want)
		}
	}
}

// TestVerdictStrings: every verdict names itself.
func TestVerdictStrings(t *testing.T) {
	for v, want := range map[Verdict]string{Compare: "compare", SkipUnchanged: "skip (unchanged)",
		SkipCompared: "skip (compared by the peer)", Verdict(9): "verdict(?)"} {
		if v.String() != want {
			t.Errorf("%d: %q, want %q", v, v.String(), want)
		}
	}
}
