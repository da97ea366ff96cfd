package storaged

import (
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/ringsync/swim"
)

// SetSwimObserver makes f see every event of every node's failure
// detector, from the node's loop goroutine, and returns a function that
// removes it.
func SetSwimObserver(f func(self ring.NodeID, ev swim.Event)) (restore func()) {
	testHookSwimEvent.Store(&f)
	return func() { testHookSwimEvent.Store(nil) }
}

// SetSwimNoRecall turns off the pings of members held dead (recall), the
// mutant that a healed partition never heals under, and returns a function
// that turns them on again.
func SetSwimNoRecall() (restore func()) {
	testSwimNoRecall.Store(true)
	return func() { testSwimNoRecall.Store(false) }
}

// Alive is what the failure detector says of id (alive).
func (s *Server) Alive(id ring.NodeID) bool { return s.alive(id) }
