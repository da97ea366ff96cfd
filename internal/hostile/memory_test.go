package hostile

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalkv/shoal/wire"
)

// attackHold is how long each attack keeps its pressure on before the
// verdicts: long enough that the benign client makes many operations.
const attackHold = 4 * time.Second

// coordinateSiblings makes the attacked node hold n concurrent values of
// size bytes under key: n raw coordinate requests with no context, each a
// new sibling. Raw, not through the driver, so that set-up does not depend
// on the driver's patience with large replications.
func (s *scenario) coordinateSiblings(r *raw, key []byte, n, size int) {
	s.t.Helper()
	for i := range n {
		v := bytes.Repeat([]byte{byte('a' + i)}, size)
		typ, body, err := r.Call(s.ctx, wire.TypeCoordinate, &wire.Coordinate{Key: key, Value: v})
		if err != nil || typ != wire.TypeObject {
			s.t.Fatalf("%s: set-up coordinate %d of %q on %s: %v %s", s.class, i, key, s.node(), err, describe(typ, body))
		}
	}
}

// TestUnreadAnswers: small gets for a large object whose answers the
// attacker never reads. The node must bound the bytes of answers it queues
// for one peer (flow control, then cutting it off), not hold one copy of
// the object per request. Today: ~375 MiB for ~1.7 KB of requests.
func TestUnreadAnswers(t *testing.T) {
	s := begin(t, "unread-answers")
	const siblings, size, lanes, perLane = 6, 1 << 20, 4, 8
	key := []byte("big-object")
	s.coordinateSiblings(s.mustDial(1, s.client()), key, siblings, size)
	r := s.mustDial(0, s.client())
	s.attack()

	get := envelopeFrames(lanes*perLane, frameOf(wire.TypeGet, &wire.Get{Key: key}))
	sent := 0
	for l := range lanes {
		st, err := r.Conn.OpenStreamSync(s.ctx)
		if err != nil {
			t.Fatalf("%s: open lane %d: %v", s.class, l, err)
		}
		// The stream is never read: the node's answers pile up.
		b := bytes.Join(get[l*perLane:(l+1)*perLane], nil)
		st.SetWriteDeadline(time.Now().Add(stepTimeout))
		if _, err := st.Write(b); err != nil {
			t.Logf("%s: lane %d: write after %d requests: %v", s.class, l, sent, err)
			continue
		}
		sent += len(b)
	}
	t.Logf("%s: sent %d gets (%d bytes) for a %d-sibling object of %d MiB, reading no answer",
		s.class, lanes*perLane, sent, siblings, siblings*size>>20)
	s.hold(attackHold)
	s.finish()
}

// envelopeFrames is n envelopes of frame, each with a fresh request id.
func envelopeFrames(n int, frame []byte) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = envelope(frame)
	}
	return out
}

// TestStalledPartialFrames: streams that each declare a frame at the cap,
// send just over half of it and stall. The node must bound the bytes of
// partly received frames per peer, and end a frame that does not complete
// in time. Today: +340 MiB for as long as the connection lives.
func TestStalledPartialFrames(t *testing.T) {
	s := begin(t, "stalled-partial-frames")
	const conns, perConn = 2, 10
	const body = 8<<20 + 512<<10 // just over half: the node's buffer doubles to the cap
	var rs []*raw
	for i := range conns {
		rs = append(rs, s.mustDial(i, s.client()))
	}
	s.attack()

	head := binary.BigEndian.AppendUint32(nil, wire.MaxFrame)
	head = append(head, byte(wire.TypeCoordinate))
	chunk := bytes.Repeat([]byte{0xc4}, 64<<10)
	var wg sync.WaitGroup
	var sentBytes, stalled atomic.Int64
	deadline := time.Now().Add(2 * attackHold) // room for a slow (race) build to send it all
	for _, r := range rs {
		for range perConn {
			wg.Go(func() {
				st, err := r.Conn.OpenStreamSync(s.ctx)
				if err != nil {
					return
				}
				st.SetWriteDeadline(deadline)
				if _, err := st.Write(envelope(head)); err != nil {
					return
				}
				for n := 0; n < body; n += len(chunk) {
					if _, err := st.Write(chunk); err != nil {
						return // refused, cut off, or slowed past the deadline
					}
					sentBytes.Add(int64(len(chunk)))
				}
				stalled.Add(1) // never finished, never closed: stalls
			})
		}
	}
	wg.Wait()
	t.Logf("%s: %d streams declared %d-byte frames; %d of them sent all %d KiB and stalled; %d MiB sent in all",
		s.class, conns*perConn, wire.MaxFrame, stalled.Load(), body>>10, sentBytes.Load()>>20)
	s.hold(time.Second)
	s.finish()
}

// TestStreamFloods: several connections from one address, each opening as
// many streams as the node allows and sending three bytes on each (part of
// a request id), so that every stream is a lane waiting to read. The node
// must bound streams per connection and connections per source.
func TestStreamFloods(t *testing.T) {
	s := begin(t, "stream-floods")
	const conns, perConn = 6, 4096
	var rs []*raw
	for i := range conns {
		r, err := s.dial(0, s.client(), true)
		if err != nil {
			t.Logf("%s: connection %d refused: %v", s.class, i, err)
			continue
		}
		rs = append(rs, r)
	}
	s.attack()
	var wg sync.WaitGroup
	var opened atomic.Int64
	for _, r := range rs {
		wg.Go(func() {
			for range perConn {
				ctx, cancel := context.WithTimeout(s.ctx, time.Second)
				st, err := r.Conn.OpenStreamSync(ctx)
				cancel()
				if err != nil {
					return // the node's stream limit, or the connection closed
				}
				st.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := st.Write([]byte{0, 0, 0}); err != nil {
					return
				}
				opened.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("%s: %d connections from one address opened %d streams (%d tried), each holding 3 bytes of a request id",
		s.class, len(rs), opened.Load(), conns*perConn)
	s.hold(attackHold)
	s.finish()
}
