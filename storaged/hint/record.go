package hint

import (
	"bytes"
	"fmt"
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/shoalkv/shoal/wire/dvv"
)

// Record is the value of one hint: what a fallback holds for one key on
// behalf of one owner. It encodes as the msgpack array
//
//	[epoch uint, since_ms uint, object Set]
//
// (the shape msgpack's as_array gives the struct; SinceMS is never negative
// and so is written as an unsigned integer).
type Record struct {
	_msgpack struct{} `msgpack:",as_array"`

	// Epoch names the record's own actor, dvv.Actor{Node: the fallback's
	// id, Epoch: Epoch}, under which the fallback assigns dots when it
	// coordinates a write for the owner. Zero until the first such write
	// mints it (see MintEpoch); a record that only ever received replicas
	// keeps zero.
	Epoch uint64
	// SinceMS is when the record was first created, in unix milliseconds;
	// merges keep it. The hint window counts from the oldest pending one.
	SinceMS int64
	// Object is what the owner is missing: the merge of every write the
	// fallback accepted for it.
	Object dvv.Set
}

// Header is a record without its object: what a scan needs to account for
// a record without decoding its values.
type Header struct {
	Epoch   uint64
	SinceMS int64
}

// recordFields is the length of a record's array.
const recordFields = 3

// EncodeRecord returns r's encoding in a new slice. It fails (ErrInvalid)
// for a negative SinceMS, and with the dvv codec's error for an invalid
// object.
func EncodeRecord(r Record) ([]byte, error) {
	if r.SinceMS < 0 {
		return nil, fmt.Errorf("%w: record time %d is before 1970", ErrInvalid, r.SinceMS)
	}
	var buf bytes.Buffer
	buf.Grow(r.Object.Size() + 20)
	e := msgpack.NewEncoder(&buf)
	if err := e.EncodeArrayLen(recordFields); err != nil {
		return nil, err
	}
	if err := e.EncodeUint(r.Epoch); err != nil {
		return nil, err
	}
	if err := e.EncodeUint(uint64(r.SinceMS)); err != nil {
		return nil, err
	}
	if err := r.Object.EncodeMsgpack(e); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeRecord decodes exactly one record from b, strictly: an array of
// exactly three fields, unsigned integers for the epoch and the time (the
// time at most math.MaxInt64), the object by the dvv codec's strict rules
// (which check every declared length before allocating), and no trailing
// bytes. Errors wrap ErrMalformed. The result does not alias b.
func DecodeRecord(b []byte) (Record, error) {
	r := bytes.NewReader(b)
	d := msgpack.NewDecoder(r)
	h, err := decodeHeader(d)
	if err != nil {
		return Record{}, err
	}
	var obj dvv.Set
	if err := obj.DecodeMsgpack(d); err != nil {
		return Record{}, fmt.Errorf("%w: object: %w", ErrMalformed, err)
	}
	if r.Len() != 0 {
		return Record{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.Len())
	}
	return Record{Epoch: h.Epoch, SinceMS: h.SinceMS, Object: obj}, nil
}

// DecodeHeader decodes the epoch and time of the record encoded in b without
// decoding (or checking) its object. Errors wrap ErrMalformed.
func DecodeHeader(b []byte) (Header, error) {
	return decodeHeader(msgpack.NewDecoder(bytes.NewReader(b)))
}

func decodeHeader(d *msgpack.Decoder) (Header, error) {
	c, err := peek(d)
	if err != nil {
		return Header{}, err
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return Header{}, fmt.Errorf("%w: record: want an array, found code 0x%02x", ErrMalformed, c)
	}
	n, err := d.DecodeArrayLen()
	if err != nil {
		return Header{}, fmt.Errorf("%w: record: %w", ErrMalformed, eof(err))
	}
	if n != recordFields {
		return Header{}, fmt.Errorf("%w: record: want %d fields, found %d", ErrMalformed, recordFields, n)
	}
	epoch, err := readUint(d, "epoch")
	if err != nil {
		return Header{}, err
	}
	since, err := readUint(d, "since")
	if err != nil {
		return Header{}, err
	}
	if since > math.MaxInt64 {
		return Header{}, fmt.Errorf("%w: record time %d out of range", ErrMalformed, since)
	}
	return Header{Epoch: epoch, SinceMS: int64(since)}, nil
}

// readUint reads an unsigned integer: a positive fixint or uint8/16/32/64.
// Signed encodings and nil are malformed (msgpack's own DecodeUint64 would
// take nil as 0 and a negative int as a huge value).
func readUint(d *msgpack.Decoder, what string) (uint64, error) {
	c, err := peek(d)
	if err != nil {
		return 0, err
	}
	switch {
	case c <= msgpcode.PosFixedNumHigh,
		c == msgpcode.Uint8, c == msgpcode.Uint16, c == msgpcode.Uint32, c == msgpcode.Uint64:
	default:
		return 0, fmt.Errorf("%w: record %s: want an unsigned integer, found code 0x%02x", ErrMalformed, what, c)
	}
	v, err := d.DecodeUint64()
	if err != nil {
		return 0, fmt.Errorf("%w: record %s: %w", ErrMalformed, what, eof(err))
	}
	return v, nil
}

func peek(d *msgpack.Decoder) (byte, error) {
	c, err := d.PeekCode()
	if err != nil {
		return 0, fmt.Errorf("%w: record: %w", ErrMalformed, eof(err))
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
