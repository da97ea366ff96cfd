package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxFrame is the hard cap on a frame's length (type byte plus body). It
// leaves room for a default-limit object with several 1 MiB siblings; objects
// larger than a node's configured limit are refused well before this.
const MaxFrame = 16 << 20

// frameChunk is how much a reader allocates before bytes arrive: memory grows
// with what the peer actually sent, never with what it declared.
const frameChunk = 32 << 10

// FrameError describes a frame refused before decoding.
type FrameError struct {
	Declared uint32 // declared length, if known
	Reason   string
	Err      error // ErrBadRequest or ErrTooLarge
}

func (e *FrameError) Error() string { return "wire: frame " + e.Reason }
func (e *FrameError) Unwrap() error { return e.Err }

// AppendFrame appends a frame holding t and body to dst.
func AppendFrame(dst []byte, t Type, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)+1))
	dst = append(dst, byte(t))
	return append(dst, body...)
}

// ReadFrame reads one frame from r. max caps the declared length (0 means
// MaxFrame). The returned body is owned by the caller. An unknown type is
// reported after the body has been consumed, as a *FrameError wrapping
// ErrUnknownType, so the stream stays in sync.
func ReadFrame(r io.Reader, max int) (Type, []byte, error) {
	n, err := readFrameHeader(r, max)
	if err != nil {
		return 0, nil, err
	}
	return readFrameRest(r, n)
}

// readFrameHeader reads a frame's length prefix and checks it against max
// (0 means MaxFrame), so that a caller can account for the declared length
// before reading the rest with readFrameRest.
func readFrameHeader(r io.Reader, max int) (uint32, error) {
	if max <= 0 || max > MaxFrame {
		max = MaxFrame
	}
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, &FrameError{Reason: "header truncated", Err: ErrBadRequest}
		}
		return 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return 0, &FrameError{Reason: "declares length 0 (no type byte)", Err: ErrBadRequest}
	}
	if uint64(n) > uint64(max) {
		return 0, &FrameError{Declared: n, Reason: fmt.Sprintf("declares %d bytes, over the %d-byte cap", n, max), Err: ErrTooLarge}
	}
	return n, nil
}

// readFrameRest reads the type byte and body of a frame that declared n
// bytes. A read error other than the stream's end (a deadline, a reset) is
// returned as it is, not as a *FrameError.
func readFrameRest(r io.Reader, n uint32) (Type, []byte, error) {
	var tb [1]byte
	if _, err := io.ReadFull(r, tb[:]); err != nil {
		if !errors.Is(err, io.EOF) {
			return 0, nil, err
		}
		return 0, nil, &FrameError{Declared: n, Reason: "ends before its type byte", Err: ErrBadRequest}
	}
	body, err := readChunked(r, int(n-1))
	if err != nil {
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, err
		}
		return 0, nil, &FrameError{Declared: n, Reason: fmt.Sprintf("declares %d bytes but the stream ended after %d", n, len(body)+1), Err: ErrBadRequest}
	}
	t := Type(tb[0])
	if !t.Known() {
		return t, body, &FrameError{Declared: n, Reason: fmt.Sprintf("has unknown message type %d", uint8(t)), Err: ErrUnknownType}
	}
	return t, body, nil
}

// readChunked reads exactly n bytes, growing its buffer only as data arrives.
func readChunked(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, frameChunk))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grow := min(n, 2*cap(buf)) - len(buf)
			buf = append(buf, make([]byte, grow)...)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}
