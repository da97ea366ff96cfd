package handoff

import (
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
)

func TestMayDrop(t *testing.T) {
	members := []ring.NodeID{"n1", "n2", "n3"}
	for _, c := range []struct {
		name    string
		members []ring.NodeID
		seen    map[ring.NodeID]uint64
		want    bool
	}{
		{"all seen", members, map[ring.NodeID]uint64{"n1": 5, "n2": 6, "n3": 5}, true},
		{"one behind", members, map[ring.NodeID]uint64{"n1": 5, "n2": 4, "n3": 5}, false},
		{"one unknown", members, map[ring.NodeID]uint64{"n1": 5, "n3": 5}, false},
		{"seen at zero", members, map[ring.NodeID]uint64{"n1": 5, "n2": 0, "n3": 5}, false},
		{"no members", nil, map[ring.NodeID]uint64{"n1": 5}, false},
	} {
		if got := MayDrop(5, c.members, c.seen); got != c.want {
			t.Errorf("%s: MayDrop = %v", c.name, got)
		}
	}
}
