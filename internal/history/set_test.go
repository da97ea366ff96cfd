package history

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// add is one add op of a test history; outcome "" leaves it unfinished.
type add struct {
	key     string
	value   uint64
	outcome Type
}

func record(ops []add) []Event {
	r := New()
	for i, a := range ops {
		op := r.Invoke(i%4, AddF, a.key, a.value)
		switch a.outcome {
		case Ok:
			op.Ok()
		case Fail:
			op.Fail(errors.New("refused"))
		case Unknown:
			op.Unknown(errors.New("timeout"))
		}
	}
	return r.Events()
}

func TestCheckSet(t *testing.T) {
	tests := []struct {
		name  string
		ops   []add
		final map[string]Read
		want  SetKey // Total, without Key
		valid bool
	}{
		{
			name:  "empty",
			valid: true,
		},
		{
			name:  "all acknowledged and present",
			ops:   []add{{"a", 1, Ok}, {"a", 2, Ok}, {"b", 3, Ok}},
			final: map[string]Read{"a": {[]uint64{2, 1}, 1}, "b": {[]uint64{3}, 1}},
			want:  SetKey{Attempted: 3, Acknowledged: 3, MaxSiblings: 1},
			valid: true,
		},
		{
			name:  "unknown either way and failed absent are fine",
			ops:   []add{{"a", 1, Unknown}, {"a", 2, Unknown}, {"a", 3, ""}, {"a", 4, Fail}, {"a", 5, Ok}},
			final: map[string]Read{"a": {[]uint64{1, 5, 3}, 3}},
			want: SetKey{Attempted: 5, Acknowledged: 1, Failed: 1, Unknown: 3, UnknownPresent: 2,
				UnknownAbsent: 1, MaxSiblings: 3},
			valid: true,
		},
		{
			name:  "acknowledged add lost",
			ops:   []add{{"a", 1, Ok}, {"a", 2, Ok}, {"b", 3, Ok}},
			final: map[string]Read{"a": {[]uint64{1}, 2}, "b": {[]uint64{3}, 1}},
			want:  SetKey{Attempted: 3, Acknowledged: 3, Lost: 1, MaxSiblings: 2},
		},
		{
			name:  "key never read counts as empty",
			ops:   []add{{"a", 1, Ok}, {"b", 2, Unknown}},
			final: map[string]Read{},
			want:  SetKey{Attempted: 2, Acknowledged: 1, Unknown: 1, UnknownAbsent: 1, Lost: 1},
		},
		{
			name:  "definite failure that took effect",
			ops:   []add{{"a", 1, Fail}},
			final: map[string]Read{"a": {[]uint64{1}, 1}},
			want:  SetKey{Attempted: 1, Failed: 1, FailedPresent: 1, MaxSiblings: 1},
		},
		{
			name:  "element never attempted",
			ops:   []add{{"a", 1, Ok}},
			final: map[string]Read{"a": {[]uint64{1, 9}, 1}, "z": {[]uint64{4}, 1}},
			want:  SetKey{Attempted: 1, Acknowledged: 1, Unexpected: 2, MaxSiblings: 1},
		},
		{
			name:  "element attempted on another key is unexpected here",
			ops:   []add{{"a", 1, Ok}, {"b", 2, Ok}},
			final: map[string]Read{"a": {[]uint64{1, 2}, 1}, "b": {[]uint64{2}, 1}},
			want:  SetKey{Attempted: 2, Acknowledged: 2, Unexpected: 1, MaxSiblings: 1},
		},
		{
			name: "retried element: ok wins over fail and unknown, unknown over fail",
			ops: []add{{"a", 1, Fail}, {"a", 1, Ok}, {"a", 1, Unknown}, {"a", 2, Fail}, {"a", 2, Unknown},
				{"a", 3, Fail}, {"a", 3, Fail}},
			final: map[string]Read{"a": {[]uint64{1, 2, 2}, 1}},
			want:  SetKey{Attempted: 3, Acknowledged: 1, Unknown: 1, UnknownPresent: 1, Failed: 1, MaxSiblings: 1},
			valid: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CheckSet(record(tt.ops), tt.final)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Total
			got.Key = ""
			if !equalCounts(got, tt.want) {
				t.Errorf("total %+v\nwant  %+v\n%s", got, tt.want, r)
			}
			if r.Valid() != tt.valid {
				t.Errorf("Valid() = %v, want %v\n%s", r.Valid(), tt.valid, r)
			}
			if !slices.IsSortedFunc(r.Keys, func(a, b SetKey) int { return strings.Compare(a.Key, b.Key) }) {
				t.Errorf("keys not sorted: %+v", r.Keys)
			}
		})
	}
}

func equalCounts(a, b SetKey) bool {
	a.LostElements, a.FailedPresentElements, a.UnexpectedElements = nil, nil, nil
	b.LostElements, b.FailedPresentElements, b.UnexpectedElements = nil, nil, nil
	return a.Key == b.Key && a.Attempted == b.Attempted && a.Acknowledged == b.Acknowledged &&
		a.Failed == b.Failed && a.Unknown == b.Unknown && a.Lost == b.Lost &&
		a.UnknownPresent == b.UnknownPresent && a.UnknownAbsent == b.UnknownAbsent &&
		a.FailedPresent == b.FailedPresent && a.Unexpected == b.Unexpected && a.MaxSiblings == b.MaxSiblings
}

func TestCheckSetReportNamesTheAnomalies(t *testing.T) {
	var ops []add
	for v := range uint64(30) {
		ops = append(ops, add{"k1", v, Ok})
	}
	ops = append(ops, add{"k2", 100, Fail}, add{"k2", 101, Ok})
	final := map[string]Read{
		"k1": {[]uint64{0, 1, 2, 3}, 4},
		"k2": {[]uint64{100, 101, 555}, 2},
	}
	r, err := CheckSet(record(ops), final)
	if err != nil {
		t.Fatal(err)
	}
	if r.Valid() {
		t.Fatalf("valid:\n%s", r)
	}
	k1, k2 := r.Keys[0], r.Keys[1]
	if k1.Key != "k1" || k1.Lost != 26 || k1.LostElements[0] != 4 || k1.LostElements[25] != 29 || k1.Valid() {
		t.Errorf("k1: %+v", k1)
	}
	if k2.Key != "k2" || !slices.Equal(k2.FailedPresentElements, []uint64{100}) ||
		!slices.Equal(k2.UnexpectedElements, []uint64{555}) || k2.Valid() {
		t.Errorf("k2: %+v", k2)
	}
	s := r.String()
	t.Log("\n" + s)
	for _, want := range []string{
		"INVALID: 26 lost, 1 unexpected, 1 failed but present",
		"k1 lost: 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 (and 6 more)",
		"k2 failed but present: 100\n",
		"k2 unexpected: 555\n",
		"max siblings",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	lines := strings.Split(s, "\n")
	if !strings.HasPrefix(strings.TrimSpace(lines[4]), "total") {
		t.Errorf("line 4 is %q, want the total row", lines[4])
	}
}

func TestCheckSetValidReport(t *testing.T) {
	r, err := CheckSet(record([]add{{"k", 1, Ok}, {"k", 2, Unknown}}), map[string]Read{"k": {[]uint64{1}, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.String(); !strings.HasPrefix(s, "set check: valid: 1 keys, 2 adds attempted, 1 acknowledged, none lost\n") {
		t.Fatalf("report:\n%s", s)
	}
}

func TestCheckSetRejectsMalformedHistories(t *testing.T) {
	inv := Event{Index: 0, Type: Invoke, Op: 1, F: AddF, Key: "k", Value: 1}
	ok := Event{Index: 1, Type: Ok, Op: 1, F: AddF, Key: "k", Value: 1}
	tests := []struct {
		name   string
		events []Event
		want   string
	}{
		{"completion without invocation", []Event{ok}, "never invoked"},
		{"completed twice", []Event{inv, ok, ok}, "completes op 1 again"},
		{"invoked twice", []Event{inv, inv}, "invokes op 1 again"},
		{"element changed", []Event{inv, {Index: 1, Type: Fail, Op: 1, F: AddF, Key: "k", Value: 2}}, "as add 2"},
		{"bad type", []Event{inv, {Index: 1, Type: "done", Op: 1, F: AddF, Key: "k", Value: 1}}, `type "done"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckSet(tt.events, nil)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want ErrMalformed saying %q", err, tt.want)
			}
		})
	}
}
