package driver

import (
	"context"
	"errors"
	"fmt"
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
//   - A node that answers nothing for Config.Silence while requests to it
//     are outstanding is marked down too, and those requests are cancelled
//     so their callers move on (a killed process sends no goodbye).
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
	// heard is when each node last answered anything; calls are the
	// requests in flight to each (for the silence rule).
	heard map[ring.NodeID]time.Time
	calls map[ring.NodeID]map[*inflight]struct{}
}

// inflight is one request on its way to a node.
type inflight struct {
	node   ring.NodeID
	sent   time.Time
	cancel context.CancelCauseFunc
}

// errSilent is the cause with which the silence rule cancels requests.
var errSilent = errors.New("the node went silent")

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
	return &health{slow: slow, nodes: make(map[ring.NodeID]*nodeHealth),
		heard: make(map[ring.NodeID]time.Time), calls: make(map[ring.NodeID]map[*inflight]struct{})}
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
	h.answeredLocked(id, took, now)
}

func (h *health) answeredLocked(id ring.NodeID, took time.Duration, now time.Time) {
	h.heard[id] = now
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
	h.failedLocked(id, err, now)
}

func (h *health) failedLocked(id ring.NodeID, err error, now time.Time) {
	n := h.rec(id)
	n.failures++
	if err != nil {
		n.lastErr = err.Error()
	}
	if !n.down {
		n.down, n.since = true, now
	}
}

// begin registers a request to id sent at now, which cancel ends; end
// must follow when it finishes.
func (h *health) begin(id ring.NodeID, now time.Time, cancel context.CancelCauseFunc) *inflight {
	f := &inflight{node: id, sent: now, cancel: cancel}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.calls[id]
	if m == nil {
		m = make(map[*inflight]struct{})
		h.calls[id] = m
	}
	m[f] = struct{}{}
	return f
}

// outcome is what a finished request tells of its node.
type outcome int

const (
	heardNothing outcome = iota // nothing (the caller ended it early, or the silence rule did)
	heardAnswer                 // the node answered, in took
	heardFailure                // a transport failure, or no answer in time
)

// end unregisters f and records its outcome (see answered and failed), in
// one critical section: requests are the hot path.
func (h *health) end(f *inflight, o outcome, took time.Duration, err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch o {
	case heardAnswer:
		h.answeredLocked(f.node, took, now)
	case heardFailure:
		h.failedLocked(f.node, err, now)
	}
	m := h.calls[f.node]
	delete(m, f)
	if len(m) == 0 {
		delete(h.calls, f.node)
	}
}

// watch runs the watchdog at now. It cancels, with errNoAnswer, every
// request outstanding for limit or longer (its caller then records the
// failure). And it applies the silence rule, unless silence <= 0: a node
// that has answered nothing for silence while a request sent at least that
// long ago is still outstanding is marked down, and every request in
// flight to it is cancelled with errSilent. It returns the nodes the
// silence rule marked down.
func (h *health) watch(now time.Time, limit, silence time.Duration) []ring.NodeID {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []ring.NodeID
	for id, m := range h.calls {
		oldest := now
		for f := range m {
			if now.Sub(f.sent) >= limit {
				f.cancel(errNoAnswer)
			}
			if f.sent.Before(oldest) {
				oldest = f.sent
			}
		}
		if silence <= 0 || now.Sub(h.heard[id]) < silence || now.Sub(oldest) < silence {
			continue
		}
		n := h.rec(id)
		n.failures++
		since := oldest
		if h.heard[id].After(since) {
			since = h.heard[id]
		}
		n.lastErr = fmt.Sprintf("no answer at all for %v with %d requests outstanding", now.Sub(since).Round(time.Millisecond), len(m))
		if !n.down {
			n.down, n.since = true, now
		}
		for f := range m {
			f.cancel(errSilent)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// recovered records a successful probe: the node is up with a clean record.
func (h *health) recovered(id ring.NodeID, now time.Time) {
	h.mu.Lock()
	delete(h.nodes, id)
	h.heard[id] = now // the probe's answer is an answer
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
