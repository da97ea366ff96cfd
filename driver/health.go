package driver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/shoalkv/shoal/ringsync/detect"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// health is the shell of the driver's failure detector (ringsync/detect,
// whose package documentation gives the rules): it serialises the
// detector for the client's goroutines and ends the calls the detector
// says to end, by cancelling their contexts with a cause (errNoAnswer,
// errSilent) that Client.call reads. A node marked down gets no user
// traffic while any node believed up can do its work; only the background
// probe (probe.go) brings it back. Safe for concurrent use.
type health struct {
	mu sync.Mutex
	d  *detect.Detector[context.CancelCauseFunc]
}

// inflight is one request on its way to a node.
type inflight = detect.Call[context.CancelCauseFunc]

// errSilent is the cause with which the silence rule cancels requests.
var errSilent = errors.New("the node went silent")

// slowLimit is how many slow answers in a row mark a node down.
const slowLimit = 3

// The outcomes a finished request reports (see detect.Outcome).
const (
	heardNothing = detect.HeardNothing
	heardAnswer  = detect.HeardAnswer
	heardFailure = detect.HeardFailure
)

// newHealth returns the detector of a client configured as cfg (defaults
// applied): SlowAnswer, CoordinatorTimeout and Silence are its floors,
// StaticTimeouts keeps them fixed, and the watchdog's period is its Tick.
func newHealth(cfg Config) *health {
	return &health{d: detect.New[context.CancelCauseFunc](detect.Config{Slow: cfg.SlowAnswer, SlowLimit: slowLimit,
		Limit: cfg.CoordinatorTimeout, Silence: cfg.Silence, Tick: watchTick(cfg), Fixed: cfg.StaticTimeouts})}
}

// Thresholds are the failure detector's thresholds in force: the slow
// answer, the attempt limit and the silence, as scaled from Config's by
// measured latency and local health (see ringsync/detect).
type Thresholds = detect.Thresholds

// Thresholds returns the failure detector's thresholds in force.
func (c *Client) Thresholds() Thresholds { return c.health.thresholds() }

func (h *health) thresholds() Thresholds {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.d.Thresholds()
}

// begin registers a request to id sent at now, which cancel ends; end
// must follow when it finishes.
func (h *health) begin(id ring.NodeID, now time.Time, cancel context.CancelCauseFunc) *inflight {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.d.Begin(id, now, cancel)
}

// end unregisters f and records its outcome, in one critical section:
// requests are the hot path.
func (h *health) end(f *inflight, o detect.Outcome, took time.Duration, err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.d.End(f, o, took, err, now)
}

// answered records an answer that took took.
func (h *health) answered(id ring.NodeID, took time.Duration, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.d.Answered(id, took, now)
}

// failed records a transport failure.
func (h *health) failed(id ring.NodeID, err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.d.Failed(id, err, now)
}

// watch runs the watchdog at now: it cancels, with errNoAnswer, every
// request outstanding for the limit or longer, and applies the silence
// rule, cancelling every request in flight to a node it marks down with
// errSilent. It returns the nodes the silence rule marked down.
func (h *health) watch(now time.Time) []ring.NodeID {
	h.mu.Lock()
	defer h.mu.Unlock()
	expired, down, silenced := h.d.Tick(now)
	for _, cancel := range expired {
		cancel(errNoAnswer)
	}
	for _, cancel := range silenced {
		cancel(errSilent) // a request expired as well keeps errNoAnswer
	}
	return down
}

// recovered records a successful probe.
func (h *health) recovered(id ring.NodeID, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.d.Recovered(id, now)
}

// up reports whether the node is believed up.
func (h *health) up(id ring.NodeID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.d.Up(id)
}

// downNodes returns the ids believed down, sorted.
func (h *health) downNodes() []ring.NodeID {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.d.Down()
}

// Belief is the failure detector's view of one node: whether it is
// believed up, since when it is believed down, its consecutive transport
// failures and slow answers, and the failure that marked it down.
type Belief = detect.Belief

// Belief returns what the failure detector believes of node id now.
func (c *Client) Belief(id ring.NodeID) Belief { return c.health.belief(id) }

func (h *health) belief(id ring.NodeID) Belief {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.d.Belief(id)
}
