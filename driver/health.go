package driver

import (
	"sync"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// health is the driver's failure detector: a node that fails in transport
// (unreachable, connection broken, timed out) is believed down for a backoff
// that doubles with each consecutive failure, up to maxBackoff; any answer
// clears it. Coordinators are chosen among nodes believed up first, so a put
// stops waiting on a dead node after one failure (paper §4.8.3: local,
// traffic-driven failure detection).
type health struct {
	mu    sync.Mutex
	nodes map[ring.NodeID]*nodeHealth
}

type nodeHealth struct {
	failures  int
	downUntil time.Time
}

const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 8 * time.Second
)

func newHealth() *health { return &health{nodes: make(map[ring.NodeID]*nodeHealth)} }

func (h *health) ok(id ring.NodeID) {
	h.mu.Lock()
	delete(h.nodes, id)
	h.mu.Unlock()
}

func (h *health) fail(id ring.NodeID, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.nodes[id]
	if n == nil {
		n = &nodeHealth{}
		h.nodes[id] = n
	}
	n.failures++
	d := minBackoff << min(n.failures-1, 5)
	n.downUntil = now.Add(min(d, maxBackoff))
}

func (h *health) up(id ring.NodeID, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.nodes[id]
	return n == nil || !now.Before(n.downUntil)
}

// order returns nodes believed up first, keeping the preference order within
// each group.
func (h *health) order(nodes []ring.Node, now time.Time) []ring.Node {
	out := make([]ring.Node, 0, len(nodes))
	var down []ring.Node
	for _, n := range nodes {
		if h.up(n.ID, now) {
			out = append(out, n)
		} else {
			down = append(down, n)
		}
	}
	return append(out, down...)
}
