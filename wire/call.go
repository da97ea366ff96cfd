package wire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/wire/pki"
)

// CallError is a request that failed in transport: the peer could not be
// reached, the connection broke, or the caller's context ended. Answers the
// peer sent, including error answers, are *RemoteError instead.
type CallError struct {
	Addr string
	Op   string // "dial", "open", "write", "read", "decode"
	Err  error
}

func (e *CallError) Error() string { return fmt.Sprintf("wire: %s %s: %v", e.Op, e.Addr, e.Err) }
func (e *CallError) Unwrap() error { return e.Err }

// peer is a cached connection, being dialed until ready is closed.
type peer struct {
	ready  chan struct{}
	cancel context.CancelFunc // ends the dial
	sess   *session
	node   string // id the peer's hello gave
	err    error
}

func (p *peer) usable() bool {
	select {
	case <-p.ready:
		return p.err == nil && p.sess.conn.Context().Err() == nil
	default:
		return true // still dialing: wait for it
	}
}

// session is a connection and its pool of lanes.
type session struct {
	e    *Endpoint
	addr string
	conn *quic.Conn

	mu    sync.Mutex
	lanes []*clientLane
	next  uint64 // request ids, also used to spread requests over lanes
}

// lane returns a lane to send on, opening one while the pool is short.
func (ss *session) lane() (*clientLane, uint64, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	live := ss.lanes[:0]
	for _, l := range ss.lanes {
		if !l.failed() {
			live = append(live, l)
		}
	}
	clear(ss.lanes[len(live):])
	ss.lanes = live
	ss.next++
	id := ss.next
	if len(ss.lanes) < laneCount {
		s, err := ss.conn.OpenStream()
		if err != nil {
			if len(ss.lanes) == 0 {
				return nil, 0, err
			}
		} else {
			l := newClientLane(s)
			if !l.run(ss.e.goAsync) {
				return nil, 0, errors.New("endpoint closed")
			}
			ss.lanes = append(ss.lanes, l)
			return l, id, nil
		}
	}
	return ss.lanes[id%uint64(len(ss.lanes))], id, nil
}

// Call sends req to the node at addr and decodes its answer into resp. When
// wantNode is not empty the peer must prove that identity. Connections are
// dialed once and reused by every caller; a broken one is redialed on the
// next call. Safe for concurrent use.
func (e *Endpoint) Call(ctx context.Context, addr, wantNode string, req, resp any) error {
	for attempt := 0; ; attempt++ {
		c, err := e.conn(ctx, addr, wantNode)
		if err != nil {
			return &CallError{Addr: addr, Op: "dial", Err: err}
		}
		err = c.roundTrip(ctx, req, resp)
		if err == nil || attempt > 0 || !stale(c.conn, err) {
			return err
		}
		e.forget(addr, c)
	}
}

// forget drops c from the cache (if it is still the cached connection for
// addr) so that the next call dials afresh.
func (e *Endpoint) forget(addr string, c *session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.peers[addr]; p != nil && p.sess == c {
		delete(e.peers, addr)
	}
}

// stale reports a request that failed only because its cached connection
// was already dead, so the peer cannot have acted on it: the stream could not
// be opened, or the peer answered with a stateless reset (it restarted and no
// longer knows the connection). Such a request is sent once more on a fresh
// connection; any other failure is returned, since the peer may have acted.
func stale(c *quic.Conn, err error) bool {
	var reset *quic.StatelessResetError
	if errors.As(err, &reset) || errors.As(context.Cause(c.Context()), &reset) {
		return true
	}
	var ce *CallError
	return c.Context().Err() != nil && errors.As(err, &ce) && ce.Op == "open"
}

// Redial drops the connection to addr, established or being dialed, so that
// the next Call dials afresh. A connection to a peer that died keeps looking
// usable until its idle timeout, and a request sent on it waits behind
// QUIC's loss recovery backoff, which grows with every unanswered packet; a
// caller with evidence that the peer failed (the driver probing a node it
// believes down) redials instead. A dial under way is abandoned too: its
// handshake packets back off the same way (in the simulator a probe that
// joined a 2s-old dial to a node that had just restarted waited 1.2s for
// the next retransmission). Requests still in flight on the old connection,
// or waiting for the abandoned dial, fail.
func (e *Endpoint) Redial(addr string) {
	e.mu.Lock()
	p := e.peers[addr]
	delete(e.peers, addr)
	e.mu.Unlock()
	if p == nil {
		return
	}
	p.cancel()
	hangUp := func() {
		<-p.ready // at once when established; soon after cancel when dialing
		if p.sess != nil {
			p.sess.conn.CloseWithError(closeRedial, "redialing")
		}
	}
	select {
	case <-p.ready:
		hangUp()
	default: // a dial that completes all the same must not be left open
		e.goAsync(hangUp)
	}
}

func (e *Endpoint) conn(ctx context.Context, addr, wantNode string) (*session, error) {
	e.mu.Lock()
	p := e.peers[addr]
	if p == nil || !p.usable() {
		if e.ctx.Err() != nil {
			e.mu.Unlock()
			return nil, errors.New("endpoint closed")
		}
		// The dial runs under the endpoint's context, not a caller's,
		// because the connection is shared.
		ctx, cancel := context.WithTimeout(e.ctx, 2*e.cfg.HandshakeTimeout)
		p = &peer{ready: make(chan struct{}), cancel: cancel}
		e.peers[addr] = p
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer close(p.ready)
			defer cancel()
			p.sess, p.node, p.err = e.dial(ctx, addr)
		}()
	}
	e.mu.Unlock()
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, p.err
	}
	if wantNode != "" && p.node != wantNode {
		return nil, fmt.Errorf("%s is node %q, want %q", addr, p.node, wantNode)
	}
	return p.sess, nil
}

// dial connects and says hello, until ctx ends.
func (e *Endpoint) dial(ctx context.Context, addr string) (*session, string, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, "", err
	}
	c, err := e.tr.Dial(ctx, ua, pki.ClientConfig(e.cfg.TLS, ALPN, ""), e.quic)
	if err != nil {
		return nil, "", err
	}
	if !e.track(c, false) {
		c.CloseWithError(0, "endpoint closing")
		return nil, "", errors.New("endpoint closed")
	}
	context.AfterFunc(c.Context(), func() { e.untrack(c) })
	ss := &session{e: e, addr: addr, conn: c}
	var ok HelloOK
	if err := ss.roundTrip(ctx, &Hello{Version: ProtocolVersion, ClusterID: e.cfg.ClusterID}, &ok); err != nil {
		c.CloseWithError(closeMismatch, "hello failed")
		return nil, "", err
	}
	_, id, _ := pki.PeerIdentity(c.ConnectionState().TLS)
	if string(ok.Node) != id {
		c.CloseWithError(closeMismatch, "identity mismatch")
		return nil, "", fmt.Errorf("hello names node %q but the certificate names %q", ok.Node, id)
	}
	return ss, id, nil
}

func (ss *session) roundTrip(ctx context.Context, req, resp any) error {
	addr := ss.addr
	want := TypeOf(resp)
	t := TypeOf(req)
	if t == TypeInvalid || want == TypeInvalid {
		return fmt.Errorf("wire: call with non-message %T -> %T", req, resp)
	}
	body, err := Encode(req)
	if err != nil {
		return err
	}
	l, id, err := ss.lane()
	if err != nil {
		return &CallError{Addr: addr, Op: "open", Err: ctxErr(ctx, err)}
	}
	r := l.roundTrip(ctx.Done(), id, appendEnvelope(make([]byte, 0, envelopeID+5+len(body)), id, t, body))
	if r.err != nil {
		return &CallError{Addr: addr, Op: "read", Err: ctxErr(ctx, r.err)}
	}
	if r.t == TypeError {
		var m Error
		if err := Decode(r.body, &m); err != nil {
			return &CallError{Addr: addr, Op: "decode", Err: err}
		}
		return &RemoteError{Code: m.Code, Message: m.Message}
	}
	if r.t != want {
		return &CallError{Addr: addr, Op: "decode", Err: fmt.Errorf("%w: answer to %s is %s, want %s", ErrBadRequest, t, r.t, want)}
	}
	if err := Decode(r.body, resp); err != nil {
		return &CallError{Addr: addr, Op: "decode", Err: err}
	}
	return nil
}

// ctxErr prefers the context's error when it ended, so callers can match
// context.DeadlineExceeded.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
