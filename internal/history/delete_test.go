package history

import (
	"errors"
	"testing"
)

// del is one delete of a test history, covering the elements it read;
// outcome "" leaves it unfinished.
type del struct {
	covered []uint64
	outcome Type
}

// withDeletes records adds 1, 2 and 3 to key "k" (all ok), then the deletes.
func withDeletes(ds ...del) []Event {
	r := New()
	for v := uint64(1); v <= 3; v++ {
		r.Invoke(0, AddF, "k", v).Ok()
	}
	for _, d := range ds {
		op := r.InvokeDelete(1, "k", d.covered)
		switch d.outcome {
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

func TestCheckSetDeletes(t *testing.T) {
	tests := []struct {
		name               string
		deletes            []del
		final              []uint64
		lost, deleted, bad int // bad: unexpected
	}{
		{"a delete removes what it read", []del{{[]uint64{1, 2}, Ok}}, []uint64{3}, 0, 2, 0},
		{"an unread element must survive", []del{{[]uint64{1}, Ok}}, []uint64{3}, 1, 1, 0},
		{"a failed delete removes nothing", []del{{[]uint64{1, 2}, Fail}}, []uint64{3}, 2, 0, 0},
		{"an unknown delete may have", []del{{[]uint64{1}, Unknown}}, []uint64{2, 3}, 0, 1, 0},
		{"an unfinished delete may have", []del{{[]uint64{1, 2, 3}, ""}}, nil, 0, 3, 0},
		{"a deleted element may survive (a concurrent re-add)", []del{{[]uint64{1}, Ok}}, []uint64{1, 2, 3}, 0, 0, 0},
		{"a covered element no add made is unexpected if present", []del{{[]uint64{9}, Ok}}, []uint64{1, 2, 3, 9}, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := CheckSet(withDeletes(tt.deletes...), map[string]Read{"k": {Elements: tt.final, Siblings: 1}})
			if err != nil {
				t.Fatal(err)
			}
			tot := rep.Total
			if tot.Lost != tt.lost || tot.Deleted != tt.deleted || tot.Unexpected != tt.bad || tot.Deletes != len(tt.deletes) {
				t.Fatalf("lost %d, deleted %d, unexpected %d, deletes %d; want %d, %d, %d, %d\n%s",
					tot.Lost, tot.Deleted, tot.Unexpected, tot.Deletes, tt.lost, tt.deleted, tt.bad, len(tt.deletes), rep)
			}
			if rep.Valid() != (tt.lost == 0 && tt.bad == 0) {
				t.Fatalf("Valid() = %v\n%s", rep.Valid(), rep)
			}
		})
	}
}

func TestCheckSetDeleteCompletedAsAdd(t *testing.T) {
	r := New()
	op := r.InvokeDelete(0, "k", []uint64{1})
	op.Ok()
	events := r.Events()
	events[1].F = AddF
	if _, err := CheckSet(events, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a delete completed as an add: %v, want ErrMalformed", err)
	}
}
