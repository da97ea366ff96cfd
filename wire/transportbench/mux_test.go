package transportbench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/wire"
)

// Multiplexed streams: a few long-lived bidirectional streams, each carrying
// frames whose body starts with an 8-byte big-endian request id.

const idLen = 8

// readBuf is the buffered reader size on a long-lived stream: wire.ReadFrame
// makes three small reads per frame, which a buffer turns into one.
const readBuf = 64 << 10

// serveMux accepts the caller's long-lived streams and serves each, writing
// answers in the given mode.
func serveMux(mode writeMode) func(handler) serveConn {
	return func(h handler) serveConn { return serveMuxConn(h, mode) }
}

func serveMuxConn(h handler, mode writeMode) serveConn {
	return func(s *server, c *quic.Conn) {
		for {
			st, err := c.AcceptStream(s.ctx)
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				serveMuxStream(st, h, mode)
			}()
		}
	}
}

// serveMuxStream reads request frames in order and answers each from its own
// worker goroutine; answers are serialised by one frameWriter and may leave
// out of order. It returns once the caller has closed its side (or the
// connection broke) and every worker and the writer have ended.
func serveMuxStream(st *quic.Stream, h handler, mode writeMode) {
	fw := newFrameWriter(st, mode)
	r := bufio.NewReaderSize(st, readBuf)
	var workers sync.WaitGroup
	for {
		_, req, err := wire.ReadFrame(r, wire.MaxFrame)
		if err != nil || len(req) < idLen {
			if !errors.Is(err, io.EOF) {
				st.CancelRead(1)
			}
			break
		}
		workers.Go(func() {
			resp := h(req[idLen:])
			body := make([]byte, 0, idLen+len(resp))
			body = append(append(body, req[:idLen]...), resp...)
			fw.send(wire.TypeGetOK, body)
		})
	}
	workers.Wait()
	fw.close()
}

// muxStream is the caller side of one long-lived stream.
type muxStream struct {
	st      *quic.Stream
	fw      *frameWriter
	readEnd chan struct{} // closed when the reader goroutine has ended

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan []byte
	readErr error // set before readEnd is closed
}

func (m *muxStream) register() (uint64, chan []byte, error) {
	ch := make(chan []byte, 1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.readErr != nil {
		return 0, nil, m.readErr
	}
	id := m.next
	m.next++
	m.waiting[id] = ch
	return id, ch, nil
}

func (m *muxStream) forget(id uint64) {
	m.mu.Lock()
	delete(m.waiting, id)
	m.mu.Unlock()
}

func (m *muxStream) call(ctx context.Context, payload []byte) ([]byte, error) {
	id, ch, err := m.register()
	if err != nil {
		return nil, err
	}
	body := make([]byte, idLen+len(payload))
	binary.BigEndian.PutUint64(body, id)
	copy(body[idLen:], payload)
	if err := m.fw.send(wire.TypeGet, body); err != nil {
		m.forget(id)
		return nil, fmt.Errorf("write: %w", err)
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-m.readEnd:
		return nil, fmt.Errorf("read: %w", m.readErr)
	case <-ctx.Done():
		m.forget(id)
		return nil, ctx.Err()
	}
}

// read routes answers to their callers until the stream or connection ends.
func (m *muxStream) read() {
	r := bufio.NewReaderSize(m.st, readBuf)
	var err error
	for {
		var typ wire.Type
		var body []byte
		typ, body, err = wire.ReadFrame(r, wire.MaxFrame)
		if err != nil {
			break
		}
		if typ != wire.TypeGetOK || len(body) < idLen {
			err = fmt.Errorf("bad answer frame: type %s, %d bytes", typ, len(body))
			m.st.CancelRead(1)
			break
		}
		id := binary.BigEndian.Uint64(body)
		m.mu.Lock()
		ch := m.waiting[id]
		delete(m.waiting, id)
		m.mu.Unlock()
		if ch != nil {
			ch <- body[idLen:]
		}
	}
	m.mu.Lock()
	m.readErr = err
	m.mu.Unlock()
	close(m.readEnd)
}

// muxTransport spreads calls round-robin over a fixed pool of n streams.
type muxTransport struct {
	c       *client
	streams []*muxStream
	rr      atomic.Uint64
}

func newMuxTransport(n int, mode writeMode) func(c *client) (transport, error) {
	return func(c *client) (transport, error) {
		t := &muxTransport{c: c}
		for range n {
			st, err := c.conn.OpenStream()
			if err != nil {
				t.close()
				return nil, err
			}
			m := &muxStream{st: st, fw: newFrameWriter(st, mode), readEnd: make(chan struct{}), waiting: make(map[uint64]chan []byte)}
			go m.read()
			t.streams = append(t.streams, m)
		}
		return t, nil
	}
}

func (t *muxTransport) call(ctx context.Context, payload []byte) ([]byte, error) {
	m := t.streams[t.rr.Add(1)%uint64(len(t.streams))]
	return m.call(ctx, payload)
}

// close ends every stream gracefully: the send side is flushed and closed,
// the server drains and closes its side, and the readers see EOF. A server
// that does not answer within 5s has its connection closed under it. Every
// goroutine the transport started has ended when close returns.
func (t *muxTransport) close() error {
	for _, m := range t.streams {
		m.fw.close()
	}
	deadline := time.After(5 * time.Second)
	var err error
	for _, m := range t.streams {
		select {
		case <-m.readEnd:
		case <-deadline:
			err = errors.New("server did not close its streams in 5s")
			t.c.conn.CloseWithError(1, "stuck")
			<-m.readEnd
		}
		if m.readErr != nil && !errors.Is(m.readErr, io.EOF) && err == nil {
			err = fmt.Errorf("stream ended with %w", m.readErr)
		}
	}
	return err
}
