package driver

import (
	"slices"
	"sync"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// health is the driver's failure detector (paper §4.8.3: local, driven by
// the driver's own traffic), shaped like Voldemort's threshold and
// asynchronous-recovery detectors:
//
//   - A transport failure (unreachable, connection broken, no answer before
//     the deadline) marks the node down at once.
//   - An answer slower than the slow threshold is a soft failure; slowLimit
//     of them in a row mark the node down too. Any prompt answer clears them.
//   - A node marked down gets no user traffic while any node believed up can
//     do its work. Only the background probe (probe.go) brings it back, so
//     requests stop waiting on a dead node after the first failure.
//
// All methods take the current time as an input; the type is safe for
// concurrent use.
type health struct {
	mu    sync.Mutex
	slow  time.Duration // answers slower than this are soft failures
	nodes map[ring.NodeID]*nodeHealth
}

// nodeHealth is one node's record; absent means up with a clean history.
type nodeHealth struct {
	down      bool
	since     time.Time // when down was last set
	failures  int       // consecutive transport failures
	slowCount int       // consecutive slow answers
	lastErr   string
}

// slowLimit is how many slow answers in a row mark a node down.
const slowLimit = 3

func newHealth(slow time.Duration) *health {
	return &health{slow: slow, nodes: make(map[ring.NodeID]*nodeHealth)}
}

func (h *health) rec(id ring.NodeID) *nodeHealth {
	n := h.nodes[id]
	if n == nil {
		n = &nodeHealth{}
		h.nodes[id] = n
	}
	return n
}

// answered records an answer (success or an error answer: either way the
// node is alive) that took took.
func (h *health) answered(id ring.NodeID, took time.Duration, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if took < h.slow {
		if n := h.nodes[id]; n != nil && !n.down {
			delete(h.nodes, id)
		}
		return
	}
	n := h.rec(id)
	n.slowCount++
	if n.slowCount >= slowLimit && !n.down {
		n.down, n.since = true, now
		n.lastErr = "slow answers"
	}
}

// failed records a transport failure: the node is down from now on until a
// probe succeeds.
func (h *health) failed(id ring.NodeID, err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.rec(id)
	n.failures++
	if err != nil {
		n.lastErr = err.Error()
	}
	if !n.down {
		n.down, n.since = true, now
	}
}

// recovered records a successful probe: the node is up with a clean record.
func (h *health) recovered(id ring.NodeID) {
	h.mu.Lock()
	delete(h.nodes, id)
	h.mu.Unlock()
}

// up reports whether the node is believed up.
func (h *health) up(id ring.NodeID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.nodes[id]
	return n == nil || !n.down
}

// downNodes returns the ids believed down, sorted.
func (h *health) downNodes() []ring.NodeID {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []ring.NodeID
	for id, n := range h.nodes {
		if n.down {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Belief is the failure detector's view of one node.
type Belief struct {
	Up bool
	// Since is when the node was marked down (zero when up).
	Since time.Time
	// Failures counts consecutive transport failures; Slow consecutive slow
	// answers.
	Failures, Slow int
	// LastError describes the failure that marked it down.
	LastError string
}

// Belief returns what the failure detector believes of node id now.
func (c *Client) Belief(id ring.NodeID) Belief { return c.health.belief(id) }

func (h *health) belief(id ring.NodeID) Belief {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.nodes[id]
	if n == nil {
		return Belief{Up: true}
	}
	b := Belief{Up: !n.down, Failures: n.failures, Slow: n.slowCount, LastError: n.lastErr}
	if n.down {
		b.Since = n.since
	}
	return b
}
