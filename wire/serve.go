package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire/pki"
)

// Peer is the verified identity behind a request.
type Peer struct {
	Role pki.Role
	ID   string
	Addr net.Addr
}

// Handler serves requests. Handle gets a request body that has not been
// decoded yet (use Decode) and returns a response message (one of this
// package's response structs) or an error; an error's code comes from CodeOf
// and its text is sent to the caller. Handle is called concurrently.
type Handler interface {
	Handle(ctx context.Context, p Peer, t Type, body []byte) (any, error)
}

// rejectLinger is how long a refused connection stays open so that the peer
// can read why it was refused.
const rejectLinger = time.Second

// maxHello caps the hello frame: it is read before the peer has proved it
// speaks the protocol, outside the memory budget.
const maxHello = 4 << 10

// nodeOnly lists requests that only node certificates may make: handoff,
// the anti-entropy exchange, gossip and failure detection.
func nodeOnly(t Type) bool {
	switch t {
	case TypeHandoff, TypeExchangeTop, TypeExchangeLeaves, TypeExchangeKeys, TypeExchangeClocks,
		TypeGossip, TypeSwim:
		return true
	}
	return false
}

// Application error codes used when closing a connection.
const (
	closeMismatch quic.ApplicationErrorCode = 1
	closeNoHello  quic.ApplicationErrorCode = 2
	closeRedial   quic.ApplicationErrorCode = 3 // the client gave up on the connection (Redial)
	closeBudget   quic.ApplicationErrorCode = 4 // answers left unread past BudgetStall
	closeSlow     quic.ApplicationErrorCode = 5 // a frame did not arrive within its deadline
)

// Serve accepts connections until ctx ends or Close is called. It returns
// nil after Close.
func (e *Endpoint) Serve(ctx context.Context) error {
	if e.ln == nil {
		return errors.New("wire: endpoint has no handler")
	}
	stop := context.AfterFunc(ctx, func() { e.ln.Close() })
	defer stop()
	for {
		c, err := e.ln.Accept(e.ctx)
		if err != nil {
			if e.ctx.Err() != nil || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("wire: accept: %w", err)
		}
		e.handshakeDone(c)
		if !e.track(c, true) {
			c.CloseWithError(0, "endpoint closing")
			return nil
		}
		// A connection leaves the table only when it is gone: serveConn
		// also returns when the endpoint starts closing, and a connection
		// still open then must stay tracked so Close hangs it up after the
		// requests in flight drain. Untracking on return left the peer's
		// lanes open and Close waiting on them forever.
		context.AfterFunc(c.Context(), func() { e.untrack(c) })
		go func() {
			defer e.wg.Done()
			e.serveConn(c)
		}()
	}
}

// serverConn is what the lanes of one accepted connection share.
type serverConn struct {
	e    *Endpoint
	c    *quic.Conn
	p    Peer
	sem  chan struct{} // requests in flight
	acct *connBudget
	// unwritten is the bytes of answers queued and not yet handed to QUIC;
	// lastWrite (unix ns) when a write last completed, or when answers
	// began to wait.
	unwritten, lastWrite atomic.Int64
}

func (e *Endpoint) serveConn(c *quic.Conn) {
	role, id, err := pki.PeerIdentity(c.ConnectionState().TLS)
	if err != nil {
		c.CloseWithError(closeNoHello, err.Error())
		return
	}
	sc := &serverConn{e: e, c: c, p: Peer{Role: role, ID: id, Addr: c.RemoteAddr()},
		sem: make(chan struct{}, e.cfg.MaxRequests), acct: e.budget.conn()}
	// The first lane must open with a matching hello, within HelloTimeout
	// of the accept; nothing else is served before it.
	helloBy := time.Now().Add(e.cfg.HelloTimeout)
	actx, cancel := context.WithDeadline(e.ctx, helloBy)
	s, err := c.AcceptStream(actx)
	cancel()
	if err != nil {
		if e.ctx.Err() == nil && c.Context().Err() == nil {
			sc.cut(closeNoHello, &e.count.cutNoHello, "no hello", fmt.Sprintf("no stream opened within %v of the accept", e.cfg.HelloTimeout))
		}
		return
	}
	first := sc.lane(s)
	if code, msg := e.serveHello(first, helloBy); code != 0 {
		if code == closeNoHello {
			e.count.cutNoHello.Add(1)
			e.notices.note(e.cfg.Logger, "cut a connection: no hello", c.RemoteAddr(), errors.New(msg))
		}
		s.Close()
		s.CancelRead(0)
		// Closing at once would discard the error answer still in flight; let
		// the peer read it and hang up, but not for long.
		select {
		case <-c.Context().Done():
		case <-e.ctx.Done():
		case <-time.After(rejectLinger):
		}
		c.CloseWithError(code, msg)
		return
	}
	if !e.goAsync(first.serve) {
		return
	}
	for {
		s, err := c.AcceptStream(e.ctx)
		if err != nil {
			return
		}
		if !e.goAsync(sc.lane(s).serve) {
			s.CancelRead(0)
			s.CancelWrite(0)
			return
		}
	}
}

func (sc *serverConn) lane(s *quic.Stream) *serverLane {
	return &serverLane{e: sc.e, sc: sc, p: sc.p, s: s, sem: sc.sem, out: make(chan []byte, 256)}
}

// cut closes the connection for a limit it broke, counting it in n and
// logging it once per source and window.
func (sc *serverConn) cut(code quic.ApplicationErrorCode, n *atomic.Uint64, reason, msg string) {
	n.Add(1)
	sc.e.notices.note(sc.e.cfg.Logger, "cut a connection: "+reason, sc.c.RemoteAddr(), errors.New(msg))
	sc.c.CloseWithError(code, msg)
}

// serveHello answers the connection's first envelope synchronously; a
// non-zero code means the connection must close with that code and message.
func (e *Endpoint) serveHello(l *serverLane, by time.Time) (quic.ApplicationErrorCode, string) {
	l.s.SetReadDeadline(by)
	defer l.s.SetReadDeadline(time.Time{})
	id, _, t, body, err := readEnvelope(l.s, maxHello)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return closeNoHello, fmt.Sprintf("no hello within %v of the accept", e.cfg.HelloTimeout)
	}
	if err != nil {
		l.writeNow(id, &Error{Code: CodeOf(err), Message: err.Error()})
		return closeNoHello, err.Error()
	}
	if t != TypeHello {
		msg := fmt.Sprintf("first request on a connection must be hello, got %s", t)
		l.writeNow(id, &Error{Code: CodeNoHello, Message: msg})
		return closeNoHello, msg
	}
	var h Hello
	if err := Decode(body, &h); err != nil {
		l.writeNow(id, &Error{Code: CodeBadRequest, Message: err.Error()})
		return closeNoHello, err.Error()
	}
	if h.Version != ProtocolVersion || h.ClusterID != e.cfg.ClusterID {
		msg := fmt.Sprintf("peer speaks protocol %d for cluster %q; this node speaks %d for cluster %q",
			h.Version, h.ClusterID, ProtocolVersion, e.cfg.ClusterID)
		l.writeNow(id, &Error{Code: CodeMismatch, Message: msg})
		return closeMismatch, msg
	}
	// Only a node certificate may serve (NewEndpoint), so self is a node id.
	l.writeNow(id, &HelloOK{Version: ProtocolVersion, ClusterID: e.cfg.ClusterID, Node: ring.NodeID(e.self)})
	return 0, ""
}

// serverLane serves the requests a peer sends on one stream.
type serverLane struct {
	e   *Endpoint
	sc  *serverConn
	p   Peer
	s   *quic.Stream
	sem chan struct{}
	out chan []byte
	wg  sync.WaitGroup // this lane's requests in flight
	// writerDone closes when the lane's writer has stopped; answers after
	// that are dropped instead of blocking their handlers.
	writerDone chan struct{}
}

// serve reads requests until the peer ends the stream, the connection
// breaks, or a frame cannot be read (the stream is then out of step: its
// request is answered under its id if that much arrived, and the lane ends).
// Each request is handled on its own goroutine; answers go out in the order
// they are ready.
func (l *serverLane) serve() {
	l.writerDone = make(chan struct{})
	go func() { // ends when out closes or a write fails
		defer close(l.writerDone)
		if err := writeLoop(l.s, l.out, nil, l.sc.written); err != nil {
			l.s.CancelRead(0) // the peer is gone: stop reading requests too
		}
	}()
	defer func() {
		l.wg.Wait()
		close(l.out)
		<-l.writerDone
		for b := range l.out { // left behind by a writer that failed
			l.sc.written(int64(len(b)))
		}
		l.s.Close()
		l.s.CancelRead(0)
	}()
	for {
		id, ok, t, body, held, err := l.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			var fe *FrameError
			if !errors.As(err, &fe) {
				return // the stream or connection broke, or was cut
			}
			if ok {
				l.answer(id, nil, err)
			}
			if errors.Is(err, ErrUnknownType) {
				continue // the body was consumed: still in step
			}
			return
		}
		l.sem <- struct{}{}
		if !l.e.startRequest() {
			<-l.sem
			l.sc.acct.release(held)
			l.answer(id, nil, fmt.Errorf("%w: node is closing", ErrShuttingDown))
			continue
		}
		if l.e.cfg.Inline != nil && l.e.cfg.Inline(t) {
			resp, err := l.handle(t, body)
			l.sc.acct.release(held)
			l.answer(id, resp, err)
			<-l.sem
			l.e.inflight.Done()
			l.e.wg.Done()
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.e.wg.Done()
			defer l.e.inflight.Done()
			defer l.wg.Done()
			defer func() { <-l.sem }()
			resp, err := l.handle(t, body)
			l.sc.acct.release(held)
			l.answer(id, resp, err)
		}()
	}
}

func (l *serverLane) handle(t Type, body []byte) (any, error) {
	if t == TypeHello {
		return nil, fmt.Errorf("%w: hello sent twice on one connection", ErrBadRequest)
	}
	if nodeOnly(t) && l.p.Role != pki.RoleNode {
		return nil, fmt.Errorf("%w: %s requests are node-to-node; peer %q holds a %s certificate", ErrForbidden, t, l.p.ID, l.p.Role)
	}
	// Not e.ctx: a request already accepted finishes during a graceful Close.
	ctx, cancel := context.WithTimeout(context.Background(), l.e.cfg.RequestTimeout)
	defer cancel()
	return l.e.cfg.Handler.Handle(ctx, l.p, t, body)
}

// answer queues an answer (or an error answer) for request id.
func (l *serverLane) answer(id uint64, resp any, err error) {
	if err != nil {
		resp = &Error{Code: CodeOf(err), Message: err.Error()}
	}
	env := envelopeOf(id, resp)
	n := int64(len(env))
	l.e.budget.observe(n)
	l.sc.queued(n) // already in memory: accounted even past the share
	select {
	case l.out <- env:
	case <-l.writerDone: // nobody left to tell
		l.sc.written(n)
	}
}

// writeNow writes an answer directly, before the lane's writer runs.
func (l *serverLane) writeNow(id uint64, msg any) {
	l.s.Write(envelopeOf(id, msg))
}

// envelopeOf encodes msg as the answer to id.
func envelopeOf(id uint64, msg any) []byte {
	t := TypeOf(msg)
	body, err := Encode(msg)
	if err != nil || t == TypeInvalid {
		t = TypeError
		body, _ = Encode(&Error{Code: CodeInternal, Message: fmt.Sprintf("cannot encode %T answer", msg)})
	}
	return appendEnvelope(make([]byte, 0, envelopeID+5+len(body)), id, t, body)
}

// TypeOf returns the message type of one of this package's message structs,
// or TypeInvalid.
func TypeOf(msg any) Type {
	switch msg.(type) {
	case *Hello:
		return TypeHello
	case *HelloOK:
		return TypeHelloOK
	case *Error:
		return TypeError
	case *Coordinate:
		return TypeCoordinate
	case *Object:
		return TypeObject
	case *Replicate:
		return TypeReplicate
	case *Ack:
		return TypeAck
	case *Get:
		return TypeGet
	case *GetOK:
		return TypeGetOK
	case *RingReq:
		return TypeRing
	case *RingOK:
		return TypeRingOK
	case *StatusReq:
		return TypeStatus
	case *StatusOK:
		return TypeStatusOK
	case *Handoff:
		return TypeHandoff
	case *ExchangeTop:
		return TypeExchangeTop
	case *ExchangeTopOK:
		return TypeExchangeTopOK
	case *ExchangeLeaves:
		return TypeExchangeLeaves
	case *ExchangeLeavesOK:
		return TypeExchangeLeavesOK
	case *ExchangeKeys:
		return TypeExchangeKeys
	case *ExchangeKeysOK:
		return TypeExchangeKeysOK
	case *Repair:
		return TypeRepair
	case *RepairStatus:
		return TypeRepairStatus
	case *RepairOK:
		return TypeRepairOK
	case *ExchangeClocks:
		return TypeExchangeClocks
	case *ExchangeClocksOK:
		return TypeExchangeClocksOK
	case *Gossip:
		return TypeGossip
	case *GossipOK:
		return TypeGossipOK
	case *Swim:
		return TypeSwim
	}
	return TypeInvalid
}
