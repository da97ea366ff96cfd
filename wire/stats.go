package wire

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of an endpoint's limits at work, for `shoal status`.
// Counters count from the endpoint's start.
type Stats struct {
	_msgpack struct{} `msgpack:",as_array"`
	// ConnsOpen is the accepted connections open now, handshakes under way
	// included; Handshaking is those not yet past TLS.
	ConnsOpen, Handshaking int64
	// Connections refused before TLS: over MaxConns, over MaxConnsPerSource,
	// over the per-source HandshakeRate.
	RefusedTotal, RefusedPerSource, RefusedRate uint64
	// Retries is connection attempts sent through QUIC address validation
	// (Retry) because more than RetryAbove handshakes were under way.
	Retries uint64
	// Connections cut: no hello within HelloTimeout, a frame that did not
	// arrive within its deadline (slowloris), answers left unread past
	// BudgetStall.
	CutNoHello, CutFrameDeadline, CutBudget uint64
	// MemoryUsed and MemoryPeak are the bytes held against MemoryTotal now
	// and at most: frames being received, requests being handled, answers
	// waiting to be written.
	MemoryUsed, MemoryPeak int64
	// MemoryTotal is the budget they are held against (the configured
	// EndpointConfig.MemoryTotal).
	MemoryTotal int64
}

// counters are Stats' counting fields.
type counters struct {
	handshaking                                 atomic.Int64
	refusedTotal, refusedPerSource, refusedRate atomic.Uint64
	retries                                     atomic.Uint64
	cutNoHello, cutFrame, cutBudget             atomic.Uint64
}

// Stats returns the endpoint's counters and memory budget now. Safe for
// concurrent use.
func (e *Endpoint) Stats() Stats {
	used, peak := e.budget.usage()
	e.mu.Lock()
	open := int64(e.admit.conns)
	e.mu.Unlock()
	c := &e.count
	return Stats{
		ConnsOpen: open, Handshaking: c.handshaking.Load(),
		RefusedTotal: c.refusedTotal.Load(), RefusedPerSource: c.refusedPerSource.Load(), RefusedRate: c.refusedRate.Load(),
		Retries:     c.retries.Load(),
		MemoryTotal: e.cfg.MemoryTotal,
		CutNoHello:  c.cutNoHello.Load(), CutFrameDeadline: c.cutFrame.Load(), CutBudget: c.cutBudget.Load(),
		MemoryUsed: used, MemoryPeak: peak,
	}
}

// refusalLogWindow is how long a (reason, source) pair stays quiet in the
// log after it was logged.
const refusalLogWindow = time.Minute

// Notices decides which refusals to log: each (reason, source host) once
// per minute, so a flood from one peer costs one log line, not one per
// request, while every refusal is still counted by its caller. The zero
// value is ready; safe for concurrent use.
type Notices struct {
	mu  sync.Mutex
	log refusalLog
}

// Should reports whether a refusal for reason from src is to be logged now.
func (n *Notices) Should(reason string, src net.Addr) bool {
	host := hostOf(src)
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.should(reason, host, time.Now())
}

func (n *Notices) note(lg *slog.Logger, reason string, src net.Addr, err error) {
	if n.Should(reason, src) {
		lg.Warn("wire: "+reason, "source", hostOf(src), "err", err, "quiet_for", refusalLogWindow)
	}
}

// hostOf is the IP of a UDP address (its port dropped): limits apply per
// source host.
func hostOf(a net.Addr) string {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.IP.String()
	}
	if a == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// countRefusal counts err (an admission refusal) under its reason.
func (c *counters) countRefusal(reason string) {
	switch reason {
	case refuseTotal:
		c.refusedTotal.Add(1)
	case refusePerSource:
		c.refusedPerSource.Add(1)
	case refuseRate:
		c.refusedRate.Add(1)
	}
}
