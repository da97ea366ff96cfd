package wire

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
)

// handshakeKey keys a connection's *handshakeMark in its context.
type handshakeKey struct{}

// handshakeMark uncounts a connection from Stats.Handshaking once.
type handshakeMark struct{ done atomic.Bool }

// connContext admits or refuses a new connection on its first packet,
// before TLS runs: over MaxConns, over MaxConnsPerSource, or over the
// source's HandshakeRate, it is refused (counted and logged once per
// source and window). An admitted connection counts until it is gone.
func (e *Endpoint) connContext(ctx context.Context, info *quic.ClientInfo) (context.Context, error) {
	src := hostOf(info.RemoteAddr)
	e.mu.Lock()
	reason, err := e.admit.admit(src, time.Now())
	e.mu.Unlock()
	if err != nil {
		e.count.countRefusal(reason)
		e.notices.note(e.cfg.Logger, "refused a connection: "+reason, info.RemoteAddr, err)
		return nil, err
	}
	m := &handshakeMark{}
	e.count.handshaking.Add(1)
	context.AfterFunc(ctx, func() {
		e.mu.Lock()
		e.admit.leave(src)
		e.mu.Unlock()
		e.endHandshake(m)
	})
	return context.WithValue(ctx, handshakeKey{}, m), nil
}

// handshakeDone uncounts an accepted connection from the handshakes under
// way.
func (e *Endpoint) handshakeDone(c *quic.Conn) {
	if m, ok := c.Context().Value(handshakeKey{}).(*handshakeMark); ok {
		e.endHandshake(m)
	}
}

func (e *Endpoint) endHandshake(m *handshakeMark) {
	if m.done.CompareAndSwap(false, true) {
		e.count.handshaking.Add(-1)
	}
}

// verifySource asks for QUIC address validation (a Retry) while more than
// RetryAbove handshakes are under way: a source that cannot receive at its
// address (spoofed) then costs the node no handshake.
func (e *Endpoint) verifySource(net.Addr) bool {
	if e.count.handshaking.Load() < int64(e.cfg.RetryAbove) {
		return false
	}
	e.count.retries.Add(1)
	return true
}
