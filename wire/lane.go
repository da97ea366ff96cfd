package wire

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/quic-go/quic-go"
)

// A lane is one long-lived bidirectional QUIC stream carrying many requests
// at once. Each request or answer is an envelope: an 8-byte big-endian request
// id followed by one frame. Answers may come back in any order; the id pairs
// them with their requests. A connection carries a small pool of lanes
// (laneCount): wire/transportbench measured ~1.7-2x the round trips of one
// stream per request at 64 callers, and a pool of 4 keeps small requests from
// queueing behind a 1 MiB one (see wire/transportbench/RESULTS.md).
const laneCount = 4

// envelopeID is the size of the request id in front of every frame.
const envelopeID = 8

// maxBatch bounds how many queued bytes a lane writer joins into one Write.
const maxBatch = 256 << 10

// appendEnvelope appends id and a frame holding t and body.
func appendEnvelope(dst []byte, id uint64, t Type, body []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, id)
	return AppendFrame(dst, t, body)
}

// readEnvelope reads one envelope whose frame declares at most max bytes.
// A clean end of stream between envelopes
// is io.EOF. When the id was read but the frame was not, ok is true so the
// error can still be answered under that id.
func readEnvelope(r io.Reader, max int) (id uint64, ok bool, t Type, body []byte, err error) {
	var idb [envelopeID]byte
	n, err := io.ReadFull(r, idb[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return 0, false, 0, nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = &FrameError{Reason: "ended inside a request id", Err: ErrBadRequest}
		}
		return 0, false, 0, nil, err
	}
	id = binary.BigEndian.Uint64(idb[:])
	t, body, err = ReadFrame(r, max)
	if errors.Is(err, io.EOF) {
		err = &FrameError{Reason: "missing after its request id", Err: ErrBadRequest}
	}
	return id, true, t, body, err
}

// writeLoop writes what arrives on out to s, joining envelopes that are
// already queued into one Write, until done closes or a write fails. It
// returns the write error, if any. When release is not nil it is given back
// the bytes of every envelope taken from out once its Write returned.
func writeLoop(s *quic.Stream, out <-chan []byte, done <-chan struct{}, release func(int64)) error {
	var buf []byte
	for {
		select {
		case b, ok := <-out:
			if !ok {
				return nil
			}
			buf = append(buf[:0], b...)
		case <-done:
			return nil
		}
	drain:
		for len(buf) < maxBatch {
			select {
			case b, ok := <-out:
				if !ok {
					break drain
				}
				buf = append(buf, b...)
			default:
				break drain
			}
		}
		_, err := s.Write(buf)
		if release != nil {
			release(int64(len(buf)))
		}
		if err != nil {
			return err
		}
		if cap(buf) > 4*maxBatch {
			buf = nil // do not keep a large value's buffer for good
		}
	}
}

// reply is an answer delivered to a waiting caller.
type reply struct {
	t    Type
	body []byte
	err  error
}

// clientLane is a lane opened by this side.
type clientLane struct {
	s    *quic.Stream
	out  chan []byte
	done chan struct{} // closed by fail

	mu      sync.Mutex
	pending map[uint64]chan reply
	err     error
}

func newClientLane(s *quic.Stream) *clientLane {
	return &clientLane{s: s, out: make(chan []byte, 256), done: make(chan struct{}), pending: make(map[uint64]chan reply)}
}

// run starts the lane's writer and reader; both end when the lane fails
// (the stream or its connection breaks). start counts goroutines in with
// the endpoint; false means it is closing.
func (l *clientLane) run(start func(func()) bool) bool {
	if !start(func() {
		if err := writeLoop(l.s, l.out, l.done, nil); err != nil {
			l.fail(err)
		}
	}) {
		return false
	}
	return start(l.readLoop)
}

func (l *clientLane) readLoop() {
	for {
		id, _, t, body, err := readEnvelope(l.s, MaxFrame)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("peer closed the stream")
			}
			l.fail(err)
			return
		}
		l.mu.Lock()
		ch := l.pending[id]
		delete(l.pending, id)
		l.mu.Unlock()
		if ch != nil {
			ch <- reply{t: t, body: body}
		}
	}
}

// fail ends the lane: every waiting caller gets err.
func (l *clientLane) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	l.err = err
	close(l.done)
	for id, ch := range l.pending {
		ch <- reply{err: err}
		delete(l.pending, id)
	}
	l.s.CancelRead(0)
	l.s.CancelWrite(0)
}

func (l *clientLane) failed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// roundTrip sends one request and waits for its answer, the lane's failure
// or the end of wait.
func (l *clientLane) roundTrip(wait <-chan struct{}, id uint64, env []byte) reply {
	ch := make(chan reply, 1)
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return reply{err: err}
	}
	l.pending[id] = ch
	l.mu.Unlock()
	select {
	case l.out <- env:
	case r := <-ch:
		return r
	case <-wait:
		l.forget(id)
		return reply{err: errWaitEnded}
	}
	select {
	case r := <-ch:
		return r
	case <-wait:
		l.forget(id)
		return reply{err: errWaitEnded}
	}
}

var errWaitEnded = errors.New("wire: gave up waiting")

func (l *clientLane) forget(id uint64) {
	l.mu.Lock()
	delete(l.pending, id)
	l.mu.Unlock()
}
