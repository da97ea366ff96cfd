package coord

import (
	"fmt"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// The put and get paths are hot: a machine allocates when it is made, not
// per answer. A request over five slots answers more than one over three
// and must allocate no more often.
func TestMachinesDoNotAllocatePerAnswer(t *testing.T) {
	allocs := func(n int, run func(prim []ring.Node)) float64 {
		var ids []string
		for i := range n {
			ids = append(ids, fmt.Sprintf("n%d", i))
		}
		prim := nodes(ids...)
		return testing.AllocsPerRun(50, func() { run(prim) })
	}
	up := downSet()
	write := func(prim []ring.Node) {
		m := NewWrite(NewPlan(prim, nil, up), Quorum{Need: len(prim)})
		for rd := m.Ready(); !rd.Done; rd = m.Ready() {
			for _, s := range rd.Sends {
				m.Answer(s.ID, Answer{})
			}
		}
	}
	read := func(prim []ring.Node) {
		m := NewRead(NewPlan(prim, nil, up), Quorum{Need: len(prim)}, ReadOptions{})
		for rd := m.Ready(); rd.Result.Verdict == Pending; rd = m.Ready() {
			for _, s := range rd.Sends {
				m.Answer(s.ID, Answer{}) // not found: merging allocates, as it must
			}
		}
	}
	for _, m := range []struct {
		name string
		run  func([]ring.Node)
	}{{"write", write}, {"read", read}} {
		if a3, a5 := allocs(3, m.run), allocs(5, m.run); a5 > a3 {
			t.Errorf("%s: %v allocations over 3 slots, %v over 5", m.name, a3, a5)
		}
	}
}
