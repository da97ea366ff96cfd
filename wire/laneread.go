package wire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// read reads the lane's next request under the connection's memory budget
// and the frame deadline. It waits for no byte between requests; once the
// first byte of an envelope has arrived, the id and length prefix must
// follow within FrameTimeout. The declared length, plus a reserve for the
// answer, is then taken from the budget before the body is read (the lane
// stops reading meanwhile, so QUIC flow control slows the peer), and the
// body must arrive within FrameTimeout plus its size at FrameMinRate. The
// held bytes are the caller's to release once the request is handled; on
// error nothing is held. A frame that misses its deadline, or a connection
// whose answers stay unread past BudgetStall, cuts the connection.
func (l *serverLane) read() (id uint64, ok bool, t Type, body []byte, held int64, err error) {
	cfg := &l.e.cfg
	var idb [envelopeID]byte
	l.s.SetReadDeadline(time.Time{})
	if _, err := io.ReadFull(l.s, idb[:1]); err != nil {
		return 0, false, 0, nil, 0, err // io.EOF between envelopes
	}
	l.s.SetReadDeadline(time.Now().Add(cfg.FrameTimeout))
	if _, err := io.ReadFull(l.s, idb[1:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = &FrameError{Reason: "ended inside a request id", Err: ErrBadRequest}
		}
		return 0, false, 0, nil, 0, l.slow(err, 0)
	}
	id = binary.BigEndian.Uint64(idb[:])
	n, err := readFrameHeader(l.s, MaxFrame)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = &FrameError{Reason: "missing after its request id", Err: ErrBadRequest}
		}
		return id, true, 0, nil, 0, l.slow(err, 0)
	}
	held = int64(n) + l.e.budget.reserve()
	if err := l.sc.acquire(held); err != nil {
		return id, true, 0, nil, 0, err
	}
	l.s.SetReadDeadline(time.Now().Add(frameDeadline(cfg.FrameTimeout, cfg.FrameMinRate, n)))
	t, body, err = readFrameRest(l.s, n)
	if err != nil {
		l.sc.acct.release(held)
		return id, true, t, nil, 0, l.slow(err, n)
	}
	return id, true, t, body, held, nil
}

// frameDeadline is how long a frame of n bytes may take once its length is
// known: base plus n at rate bytes per second.
func frameDeadline(base time.Duration, rate int64, n uint32) time.Duration {
	return base + time.Duration(float64(n)/float64(rate)*float64(time.Second))
}

// slow cuts the connection when err is a missed frame deadline, and returns
// err.
func (l *serverLane) slow(err error, n uint32) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	cfg := &l.e.cfg
	msg := fmt.Sprintf("frame of %d declared bytes not complete within %v of its first byte (%v plus %d bytes/s)",
		n, frameDeadline(cfg.FrameTimeout, cfg.FrameMinRate, n), cfg.FrameTimeout, cfg.FrameMinRate)
	if n == 0 {
		msg = fmt.Sprintf("request id and frame header not complete within %v of their first byte", cfg.FrameTimeout)
	}
	l.sc.cut(closeSlow, &l.e.count.cutFrame, "frame deadline", msg)
	return err
}

// acquire takes n bytes of the budget for a request, waiting while the
// connection or the node is over its limit. A connection whose answers
// have been waiting unwritten, with no write completing, for BudgetStall
// (its peer does not read) is cut; one that waits only on others keeps
// waiting until its connection ends.
func (sc *serverConn) acquire(n int64) error {
	if sc.acct.tryAcquire(n) { // the common case: no timer, no context
		return nil
	}
	cfg := &sc.e.cfg
	for {
		ctx, cancel := context.WithTimeout(sc.c.Context(), cfg.BudgetStall)
		_, err := sc.acct.acquire(ctx, n)
		cancel()
		if err == nil {
			return nil
		}
		if sc.c.Context().Err() != nil {
			return err
		}
		unread := sc.unwritten.Load()
		since := time.Since(time.Unix(0, sc.lastWrite.Load()))
		if unread > 0 && since >= cfg.BudgetStall {
			msg := fmt.Sprintf("memory budget exceeded: %d bytes of answers unread for %v (connection holds %d bytes, share %d)",
				unread, since.Round(time.Millisecond), sc.acct.heldNow(), cfg.MemoryPerConn)
			sc.cut(closeBudget, &sc.e.count.cutBudget, "memory budget", msg)
			return fmt.Errorf("wire: %s", msg)
		}
	}
}

// queued charges an encoded answer of n bytes until it is written.
func (sc *serverConn) queued(n int64) {
	sc.acct.charge(n)
	if sc.unwritten.Add(n) == n {
		// The first answer after none waited: unwritten time counts from
		// now, not from the last write long ago.
		sc.lastWrite.Store(time.Now().UnixNano())
	}
}

// written releases n bytes of answers handed to QUIC (or dropped).
func (sc *serverConn) written(n int64) {
	sc.unwritten.Add(-n)
	sc.lastWrite.Store(time.Now().UnixNano())
	sc.acct.release(n)
}
