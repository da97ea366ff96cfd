package storaged

import (
	"fmt"

	"github.com/shoalkv/shoal/wire"
)

// statusReport answers wire.Status: status (handler.go) with the
// anti-entropy figures kept here, the partitions whose trees are
// rebuilding, the latest on-demand repair and the cluster state's figures
// (gossip.go).
func (s *Server) statusReport() (any, error) {
	resp, err := s.status()
	if err != nil {
		return nil, err
	}
	st, ok := resp.(*wire.StatusOK)
	if !ok {
		panic(fmt.Sprintf("storaged: status answered %T", resp))
	}
	st.TreesRebuilding = uint64(s.trees.notReady())
	st.Repair = s.latestRepair()
	s.gossipStatus(st)
	st.Swim, st.SwimHealth = s.swimStatus()
	return st, nil
}
