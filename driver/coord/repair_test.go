package coord

import (
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

func TestRepairTargetsOnlyStaleAnswers(t *testing.T) {
	var empty dvv.Set
	v1, _ := empty.Update(dvv.Actor{Node: "a", Epoch: 1}, nil, []byte("x"), false)
	v2, _ := v1.Update(dvv.Actor{Node: "a", Epoch: 1}, v1.VV, []byte("y"), false)
	gone, _ := v2.Update(dvv.Actor{Node: "a", Epoch: 1}, v2.VV, nil, true)
	for _, tc := range []struct {
		name   string
		found  bool
		held   dvv.Set
		merged dvv.Set
		want   bool
	}{
		{"missing, nothing anywhere", false, empty, empty, false},
		{"missing", false, empty, v1, true},
		{"missing, a tombstone elsewhere", false, empty, gone, true},
		{"older", true, v1, v2, true},
		{"current", true, v2, v2, false},
	} {
		if got := stale(tc.found, tc.held, tc.merged); got != tc.want {
			t.Errorf("%s: stale = %v, want %v", tc.name, got, tc.want)
		}
	}
}
