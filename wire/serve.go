package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/quic-go/quic-go"

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

// nodeOnly lists requests that only node certificates may make.
func nodeOnly(t Type) bool { return t == TypeHandoff }

// Application error codes used when closing a connection.
const (
	closeMismatch quic.ApplicationErrorCode = 1
	closeNoHello  quic.ApplicationErrorCode = 2
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
		if !e.track(c, true) {
			c.CloseWithError(0, "endpoint closing")
			return nil
		}
		go func() {
			defer e.wg.Done()
			defer e.untrack(c)
			e.serveConn(c)
		}()
	}
}

func (e *Endpoint) serveConn(c *quic.Conn) {
	role, id, err := pki.PeerIdentity(c.ConnectionState().TLS)
	if err != nil {
		c.CloseWithError(closeNoHello, err.Error())
		return
	}
	p := Peer{Role: role, ID: id, Addr: c.RemoteAddr()}
	// The first stream must be a matching hello; nothing else is served before.
	s, err := c.AcceptStream(e.ctx)
	if err != nil {
		return
	}
	if code, msg := e.serveHello(s); code != 0 {
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
	for {
		s, err := c.AcceptStream(e.ctx)
		if err != nil {
			return
		}
		if !e.startRequest() {
			s.CancelRead(0)
			s.CancelWrite(0)
			return
		}
		go func() {
			defer e.wg.Done()
			defer e.inflight.Done()
			e.serveStream(p, s)
		}()
	}
}

// serveHello answers the connection's first stream; a non-zero code means
// the connection must close with that code and message.
func (e *Endpoint) serveHello(s *quic.Stream) (quic.ApplicationErrorCode, string) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
	t, body, err := readRequest(s)
	if err != nil {
		writeError(s, CodeOf(err), err.Error())
		return closeNoHello, err.Error()
	}
	if t != TypeHello {
		msg := fmt.Sprintf("first request on a connection must be hello, got %s", t)
		writeError(s, CodeNoHello, msg)
		return closeNoHello, msg
	}
	var h Hello
	if err := Decode(body, &h); err != nil {
		writeError(s, CodeBadRequest, err.Error())
		return closeNoHello, err.Error()
	}
	if h.Version != ProtocolVersion || h.ClusterID != e.cfg.ClusterID {
		msg := fmt.Sprintf("peer speaks protocol %d for cluster %q; this node speaks %d for cluster %q",
			h.Version, h.ClusterID, ProtocolVersion, e.cfg.ClusterID)
		writeError(s, CodeMismatch, msg)
		return closeMismatch, msg
	}
	writeMessage(s, &HelloOK{Version: ProtocolVersion, ClusterID: e.cfg.ClusterID, Node: e.self})
	return 0, ""
}

func (e *Endpoint) serveStream(p Peer, s *quic.Stream) {
	defer s.Close()
	// A refused request may leave bytes unread; cancelling the read side
	// returns their flow-control credit and the stream slot to the peer. It
	// does nothing after a complete read.
	defer s.CancelRead(0)
	s.SetDeadline(time.Now().Add(e.cfg.RequestTimeout))
	t, body, err := readRequest(s)
	if err != nil {
		writeError(s, CodeOf(err), err.Error())
		return
	}
	if t == TypeHello {
		writeError(s, CodeBadRequest, "hello sent twice on one connection")
		return
	}
	if nodeOnly(t) && p.Role != pki.RoleNode {
		writeError(s, CodeForbidden, fmt.Sprintf("%s requests are node-to-node; peer %q holds a %s certificate", t, p.ID, p.Role))
		return
	}
	// Not e.ctx: a request already accepted finishes during a graceful Close.
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RequestTimeout)
	defer cancel()
	resp, err := e.cfg.Handler.Handle(ctx, p, t, body)
	if err != nil {
		writeError(s, CodeOf(err), err.Error())
		return
	}
	writeMessage(s, resp)
}

// readRequest reads one request frame and checks that the peer sent nothing
// after it.
func readRequest(s *quic.Stream) (Type, []byte, error) {
	t, body, err := ReadFrame(s, MaxFrame)
	if err != nil {
		return t, nil, err
	}
	var one [1]byte
	n, err := io.ReadFull(s, one[:])
	if n > 0 {
		return t, nil, &FrameError{Reason: "is followed by trailing bytes", Err: ErrBadRequest}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return t, nil, fmt.Errorf("wire: read after request: %w", err)
	}
	return t, body, nil
}

func writeError(s *quic.Stream, code Code, msg string) {
	writeMessage(s, &Error{Code: code, Message: msg})
}

// writeMessage encodes and writes one frame. A write error means the peer has
// gone; there is nobody left to tell.
func writeMessage(s *quic.Stream, msg any) {
	t := TypeOf(msg)
	body, err := Encode(msg)
	if err != nil || t == TypeInvalid {
		t = TypeError
		body, _ = Encode(&Error{Code: CodeInternal, Message: fmt.Sprintf("cannot encode %T answer", msg)})
	}
	s.Write(AppendFrame(make([]byte, 0, len(body)+5), t, body))
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
	}
	return TypeInvalid
}
