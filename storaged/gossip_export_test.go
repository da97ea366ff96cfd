package storaged

import (
	"context"
	"errors"

	"github.com/shoalkv/shoal/ringsync/member"
)

// ClusterState is the node's cluster state (nil: none yet).
func (s *Server) ClusterState() *member.State {
	if h := s.gsp.cur.Load(); h != nil {
		return h.state
	}
	return nil
}

// TouchRecord writes the next version of this node's record (one more Seq,
// nothing else changed), as a change of its address or epoch would.
func (s *Server) TouchRecord() error {
	h := s.gsp.cur.Load()
	if h == nil {
		return errors.New("no cluster state")
	}
	rec, ok := h.state.Record(s.cfg.ID)
	if !ok {
		return errors.New("no record of this node")
	}
	rec.Seq++
	st, err := h.state.WithRecord(rec)
	if err != nil {
		return err
	}
	return s.adopt(context.Background(), st, false)
}
