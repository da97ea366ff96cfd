package transportbench

import (
	"errors"
	"io"
	"sync"

	"github.com/shoalkv/shoal/wire"
)

var errWriterClosed = errors.New("frame writer closed")

// writeMode is how a frameWriter gets frames onto its stream.
type writeMode uint8

const (
	// coalesce: senders append to a shared buffer and return; one writer
	// goroutine writes everything queued with a single Write.
	coalesce writeMode = iota
	// locked: each sender writes its own frame while holding the mutex.
	locked
)

// frameWriter serialises frames onto one long-lived stream so that frames
// never interleave. In coalesce mode a burst of small frames costs one Write;
// in locked mode every frame is its own Write and senders queue on the mutex
// while quic-go packetises the frame before them. close flushes what is
// queued, closes the stream's send side and waits for the goroutine.
type frameWriter struct {
	w    io.WriteCloser
	mode writeMode
	wake chan struct{} // capacity 1: "there is something to do"
	done chan struct{} // closed when the goroutine has ended

	mu     sync.Mutex
	buf    []byte
	closed bool
	err    error
}

func newFrameWriter(w io.WriteCloser, mode writeMode) *frameWriter {
	fw := &frameWriter{w: w, mode: mode, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go fw.run()
	return fw
}

// send queues one frame. body is copied before send returns.
func (fw *frameWriter) send(t wire.Type, body []byte) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.err != nil {
		return fw.err
	}
	if fw.closed {
		return errWriterClosed
	}
	if fw.mode == locked {
		if _, err := fw.w.Write(wire.AppendFrame(make([]byte, 0, len(body)+5), t, body)); err != nil {
			fw.err = err
			return err
		}
		return nil
	}
	fw.buf = wire.AppendFrame(fw.buf, t, body)
	fw.signal()
	return nil
}

func (fw *frameWriter) signal() {
	select {
	case fw.wake <- struct{}{}:
	default:
	}
}

func (fw *frameWriter) run() {
	defer close(fw.done)
	var out []byte
	for range fw.wake {
		fw.mu.Lock()
		out, fw.buf = fw.buf, out[:0]
		closing, failed := fw.closed, fw.err != nil
		fw.mu.Unlock()
		if len(out) > 0 && !failed {
			// quic-go's Write returns once it no longer references out.
			if _, err := fw.w.Write(out); err != nil {
				fw.mu.Lock()
				fw.err = err
				fw.mu.Unlock()
			}
		}
		if closing {
			fw.w.Close()
			return
		}
	}
}

// close flushes, closes the send side and joins the writer goroutine.
func (fw *frameWriter) close() {
	fw.mu.Lock()
	fw.closed = true
	fw.signal()
	fw.mu.Unlock()
	<-fw.done
}
