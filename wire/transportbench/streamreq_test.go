package transportbench

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/wire"
)

// Stream-per-request: the design package wire uses today (wire/call.go and
// wire/serve.go) minus msgpack, the hello and deadlines.

// serveStreams accepts one stream per request and answers each from its own
// goroutine, as wire.Endpoint.serveConn does.
func serveStreams(h handler) serveConn {
	return func(s *server, c *quic.Conn) {
		for {
			st, err := c.AcceptStream(s.ctx)
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				answerStream(st, h)
			}()
		}
	}
}

// answerStream reads one request frame, checks that the stream ends there
// (like wire's readRequest), writes one answer frame and closes.
func answerStream(st *quic.Stream, h handler) {
	_, req, err := wire.ReadFrame(st, wire.MaxFrame)
	if err == nil {
		var one [1]byte
		if n, rerr := io.ReadFull(st, one[:]); n > 0 || !errors.Is(rerr, io.EOF) {
			err = fmt.Errorf("request not followed by end of stream: %v", rerr)
		}
	}
	if err != nil {
		st.CancelRead(1)
		st.CancelWrite(1)
		return
	}
	resp := h(req)
	st.Write(wire.AppendFrame(make([]byte, 0, len(resp)+5), wire.TypeGetOK, resp))
	st.Close()
}

// streamTransport is the caller side: one connection, one stream per call.
type streamTransport struct{ c *client }

func newStreamTransport(c *client) (transport, error) { return &streamTransport{c: c}, nil }

func (t *streamTransport) call(ctx context.Context, payload []byte) ([]byte, error) {
	st, err := t.c.conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if _, err := st.Write(wire.AppendFrame(make([]byte, 0, len(payload)+5), wire.TypeGet, payload)); err != nil {
		st.CancelRead(1)
		return nil, fmt.Errorf("write: %w", err)
	}
	st.Close()
	typ, body, err := wire.ReadFrame(st, wire.MaxFrame)
	if err != nil {
		st.CancelRead(1)
		return nil, fmt.Errorf("read: %w", err)
	}
	if typ != wire.TypeGetOK {
		return nil, fmt.Errorf("answer has type %s", typ)
	}
	return body, nil
}

func (t *streamTransport) close() error { return nil }
