package stage

import (
	"slices"
	"testing"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
)

func TestShellQueries(t *testing.T) {
	s := cluster(t, 64, 3)
	if Incoming(s, 0, Options{}) != nil || Pending(s, "n00") != nil {
		t.Fatal("transfers without a plan")
	}
	s = commit(t, stage(t, s, join(3)), Options{})
	pend := Pending(s, "n03")
	if len(pend) == 0 || !slices.Equal(pend, s.Claim().Transfers) {
		t.Fatalf("pending %v, want every transfer (all go to the newcomer)", pend)
	}
	for p := range 64 {
		in := Incoming(s, p, Options{})
		want := []ring.NodeID(nil)
		if s.Claim().HasTransfer(p, "n03") {
			want = []ring.NodeID{"n03"}
		}
		if !slices.Equal(in, want) {
			t.Fatalf("incoming %d: %v, want %v", p, in, want)
		}
		if !Replicates(s, "n03", p, Options{}) && want != nil {
			t.Fatalf("n03 need not keep %d, which it receives", p)
		}
	}
	// Half received: those are no longer pending.
	half := receive(t, s, func(tr member.Transfer) bool { return tr.Partition%2 == 0 })
	for _, tr := range Pending(half, "n03") {
		if tr.Partition%2 == 0 {
			t.Fatalf("received transfer %+v still pending", tr)
		}
	}
	// Once settled, a node that lost a replica no longer replicates it.
	before := s.Ring()
	end := settle(t, s, Options{})
	lost := 0
	for p := range 64 {
		for _, id := range replicaSet(before, p, 3) {
			if !slices.Contains(replicaSet(end.Ring(), p, 3), id) {
				lost++
				if Replicates(end, id, p, Options{}) {
					t.Fatalf("%s still replicates %d", id, p)
				}
			}
		}
	}
	if lost == 0 {
		t.Fatal("a join took no replica from anyone")
	}
}
