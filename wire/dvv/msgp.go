package dvv

import (
	"io"
	"math"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Strict msgpack primitives. The Decoder's own DecodeX methods are lenient
// (DecodeUint64 takes nil as 0 and negative ints as huge values, DecodeBool
// takes nil, DecodeBytes allocates a declared length up front), so each reader
// here peeks at the type code first and accepts only the one family of codes
// our encoders write. Writers produce the same bytes whatever options the
// Encoder carries (no string interning, always compact ints).

// valueChunk is the most a value read allocates ahead of the bytes actually
// read: a declared length is believed only as far as the input backs it.
const valueChunk = 64 << 10

// peek returns the next type code without consuming it.
func peek(d *msgpack.Decoder, what string) (byte, error) {
	c, err := d.PeekCode()
	if err != nil {
		return 0, malformedf("%s: %w", what, eof(err))
	}
	return c, nil
}

// eof turns a clean end of input in the middle of a value into
// io.ErrUnexpectedEOF.
func eof(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readArrayLen reads an array header and returns its length. Nil and
// non-array codes are malformed.
func readArrayLen(d *msgpack.Decoder, what string) (int, error) {
	c, err := peek(d, what)
	if err != nil {
		return 0, err
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return 0, malformedf("%s: want an array, found code 0x%02x", what, c)
	}
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, malformedf("%s: %w", what, eof(err))
	}
	return n, nil
}

// readList reads the header of a variable-length array of at most limit
// elements; a longer one is a *LimitError.
func readList(d *msgpack.Decoder, what string, limit int) (int, error) {
	n, err := readArrayLen(d, what)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > limit {
		return 0, &LimitError{What: what, Len: int64(n), Max: int64(limit)}
	}
	return n, nil
}

// readTuple reads the header of a fixed-layout array that must have exactly
// fields elements.
func readTuple(d *msgpack.Decoder, what string, fields int) error {
	n, err := readArrayLen(d, what)
	if err != nil {
		return err
	}
	if n != fields {
		return malformedf("%s: want %d fields, found %d", what, fields, n)
	}
	return nil
}

// readUint reads an unsigned integer: a positive fixint or uint8/16/32/64.
// Signed encodings and nil are malformed.
func readUint(d *msgpack.Decoder, what string) (uint64, error) {
	c, err := peek(d, what)
	if err != nil {
		return 0, err
	}
	switch {
	case c <= msgpcode.PosFixedNumHigh,
		c == msgpcode.Uint8, c == msgpcode.Uint16, c == msgpcode.Uint32, c == msgpcode.Uint64:
	default:
		return 0, malformedf("%s: want an unsigned integer, found code 0x%02x", what, c)
	}
	n, err := d.DecodeUint64()
	if err != nil {
		return 0, malformedf("%s: %w", what, eof(err))
	}
	return n, nil
}

// readBool reads true or false; nil is malformed.
func readBool(d *msgpack.Decoder, what string) (bool, error) {
	c, err := peek(d, what)
	if err != nil {
		return false, err
	}
	if c != msgpcode.True && c != msgpcode.False {
		return false, malformedf("%s: want a bool, found code 0x%02x", what, c)
	}
	b, err := d.DecodeBool()
	if err != nil {
		return false, malformedf("%s: %w", what, eof(err))
	}
	return b, nil
}

// readString reads a str of at most limit bytes, checking the length before
// allocating.
func readString(d *msgpack.Decoder, what string, limit int) (string, error) {
	c, err := peek(d, what)
	if err != nil {
		return "", err
	}
	if !msgpcode.IsString(c) {
		return "", malformedf("%s: want a string, found code 0x%02x", what, c)
	}
	n, err := d.DecodeBytesLen()
	if err != nil {
		return "", malformedf("%s: %w", what, eof(err))
	}
	if n < 0 || n > limit {
		return "", &LimitError{What: what, Len: int64(n), Max: int64(limit)}
	}
	buf := make([]byte, n)
	if err := d.ReadFull(buf); err != nil {
		return "", malformedf("%s: %w", what, eof(err))
	}
	return string(buf), nil
}

// readBin reads a bin into a new slice (nil when empty). It allocates at
// most valueChunk bytes ahead of the bytes actually read, so a length that
// the input does not back cannot allocate much.
func readBin(d *msgpack.Decoder, what string) ([]byte, error) {
	c, err := peek(d, what)
	if err != nil {
		return nil, err
	}
	if !msgpcode.IsBin(c) {
		return nil, malformedf("%s: want bin, found code 0x%02x", what, c)
	}
	n, err := d.DecodeBytesLen()
	if err != nil {
		return nil, malformedf("%s: %w", what, eof(err))
	}
	if n < 0 {
		return nil, &LimitError{What: what, Len: int64(n), Max: math.MaxInt32}
	}
	if n == 0 {
		return nil, nil
	}
	buf := make([]byte, 0, min(n, valueChunk))
	for len(buf) < n {
		m := min(n-len(buf), valueChunk)
		buf = slices.Grow(buf, m)
		if err := d.ReadFull(buf[len(buf) : len(buf)+m]); err != nil {
			return nil, malformedf("%s: %w", what, eof(err))
		}
		buf = buf[:len(buf)+m]
	}
	return buf, nil
}

// writeString writes s as a msgpack str. It bypasses Encoder.EncodeString,
// which interns strings when the encoder is set up to.
func writeString(e *msgpack.Encoder, s string) error {
	var hdr []byte
	switch n := len(s); {
	case n < 32:
		hdr = []byte{msgpcode.FixedStrLow | byte(n)}
	case n <= math.MaxUint8:
		hdr = []byte{msgpcode.Str8, byte(n)}
	case n <= math.MaxUint16:
		hdr = []byte{msgpcode.Str16, byte(n >> 8), byte(n)}
	default:
		return &LimitError{What: "string", Len: int64(n), Max: math.MaxUint16}
	}
	w := e.Writer()
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := io.WriteString(w, s)
	return err
}

// writeBin writes b as a msgpack bin; nil and empty both become an empty bin.
func writeBin(e *msgpack.Encoder, what string, b []byte) error {
	if uint64(len(b)) > math.MaxUint32 {
		return &LimitError{What: what, Len: int64(len(b)), Max: math.MaxUint32}
	}
	if len(b) == 0 {
		return e.EncodeBytesLen(0)
	}
	return e.EncodeBytes(b)
}
