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
//	[epoch uint, since_ms uint, object Set]                                (pending)
//	[epoch uint, since_ms uint, object Set, kept bool]                     (kept)
//	[epoch uint, since_ms uint, object Set, kept bool, retained bool]      (retained)
//
// (the shape msgpack's as_array gives the struct; SinceMS is never negative
// and so is written as an unsigned integer). Kept was appended later: a
// record without it is not kept, and a record that is not kept is written
// without it, so its bytes are those of the first format. Retained came
// after it, and is written (with Kept) only by a retained record, so the
// array's length alone tells a retained record (DecodeHeader need not
// decode its object).
type Record struct {
	_msgpack struct{} `msgpack:",as_array"`

	// Epoch names the record's own actor, dvv.Actor{Node: the fallback's
	// id, Epoch: Epoch}, under which the fallback assigns dots when it
	// coordinates a write for the owner. Zero until the first such write
	// mints it (see MintEpoch); a record that only ever received replicas
	// keeps zero.
	Epoch uint64
	// SinceMS is when the record was created, or last stopped being Kept,
	// in unix milliseconds; other merges keep it. The hint window counts
	// from the oldest pending one.
	SinceMS int64
	// Object is what the owner is missing: the merge of every write the
	// fallback accepted for it.
	Object dvv.Set
	// Kept marks a record its owner refused for good (it holds other
	// limits, or finds it malformed): it stays for an operator, is not
	// delivered, and is out of the owner's backlog, until a write merges
	// new data into it and clears the mark.
	Kept bool
	// Retained marks a record that was delivered and is kept only for its
	// actor (Epoch nonzero): the fallback keeps coordinating a later
	// outage's writes of the key for the owner under the same actor, so
	// that the key's clock gains one actor per fallback and owner, not one
	// per outage (see MintEpoch). A retained record is neither pending nor
	// kept; a write that merges new data into it makes it pending again.
	Retained bool
}

// Header is a record without its object: what a scan needs to account for
// a record without decoding its values.
type Header struct {
	Epoch    uint64
	SinceMS  int64
	Kept     bool
	Retained bool
}

// The lengths of a record's array: without the Kept field, with it, and
// with Kept and Retained.
const (
	recordFields         = 3
	keptRecordFields     = 4
	retainedRecordFields = 5
)

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
	if r.Kept && r.Retained {
		return nil, fmt.Errorf("%w: a record is kept or retained, not both", ErrInvalid)
	}
	fields := recordFields
	switch {
	case r.Retained:
		fields = retainedRecordFields
	case r.Kept:
		fields = keptRecordFields
	}
	if err := e.EncodeArrayLen(fields); err != nil {
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
	if fields >= keptRecordFields {
		if err := e.EncodeBool(r.Kept); err != nil {
			return nil, err
		}
	}
	if fields == retainedRecordFields {
		if err := e.EncodeBool(true); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// DecodeRecord decodes exactly one record from b, strictly: an array of
// three to five fields, unsigned integers for the epoch and the time (the
// time at most math.MaxInt64), the object by the dvv codec's strict rules
// (which check every declared length before allocating), a boolean for
// Kept and Retained if present, and no trailing bytes. Errors wrap ErrMalformed. The
// result does not alias b.
func DecodeRecord(b []byte) (Record, error) {
	r := bytes.NewReader(b)
	d := msgpack.NewDecoder(r)
	fields, h, err := decodeHeader(d)
	if err != nil {
		return Record{}, err
	}
	rec, err := decodeRest(d, fields, h)
	if err != nil {
		return Record{}, err
	}
	if r.Len() != 0 {
		return Record{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.Len())
	}
	return rec, nil
}

// DecodeHeader decodes the epoch, time and kept and retained marks of the
// record encoded in b. It neither decodes nor checks the object of a
// pending record (the common case) or a retained one (the array's length
// says it is retained); for a kept one, whose mark ends the array, it
// decodes the object to reach the field. Errors wrap ErrMalformed.
func DecodeHeader(b []byte) (Header, error) {
	d := msgpack.NewDecoder(bytes.NewReader(b))
	fields, h, err := decodeHeader(d)
	if err != nil || fields == recordFields {
		return h, err
	}
	if fields == retainedRecordFields {
		h.Retained = true
		return h, nil
	}
	rec, err := decodeRest(d, fields, h)
	if err != nil {
		return Header{}, err
	}
	return Header{Epoch: rec.Epoch, SinceMS: rec.SinceMS, Kept: rec.Kept}, nil
}

// decodeRest decodes what follows the header of a record of fields fields:
// its object and, if present, its kept mark.
func decodeRest(d *msgpack.Decoder, fields int, h Header) (Record, error) {
	rec := Record{Epoch: h.Epoch, SinceMS: h.SinceMS}
	if err := rec.Object.DecodeMsgpack(d); err != nil {
		return Record{}, fmt.Errorf("%w: object: %w", ErrMalformed, err)
	}
	if fields >= keptRecordFields {
		v, err := readBool(d, "kept")
		if err != nil {
			return Record{}, err
		}
		rec.Kept = v
	}
	if fields == retainedRecordFields {
		v, err := readBool(d, "retained")
		if err != nil {
			return Record{}, err
		}
		if !v || rec.Kept {
			return Record{}, fmt.Errorf("%w: a record of %d fields must be retained and not kept", ErrMalformed, fields)
		}
		rec.Retained = true
	}
	return rec, nil
}

// readBool reads a msgpack boolean.
func readBool(d *msgpack.Decoder, what string) (bool, error) {
	c, err := peek(d)
	if err != nil {
		return false, err
	}
	if c != msgpcode.True && c != msgpcode.False {
		return false, fmt.Errorf("%w: record %s: want a boolean, found code 0x%02x", ErrMalformed, what, c)
	}
	if _, err := d.DecodeBool(); err != nil {
		return false, fmt.Errorf("%w: record %s: %w", ErrMalformed, what, eof(err))
	}
	return c == msgpcode.True, nil
}

// decodeHeader decodes a record's array length (returned as fields) and the
// fields before its object.
func decodeHeader(d *msgpack.Decoder) (fields int, h Header, err error) {
	c, err := peek(d)
	if err != nil {
		return 0, Header{}, err
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return 0, Header{}, fmt.Errorf("%w: record: want an array, found code 0x%02x", ErrMalformed, c)
	}
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, Header{}, fmt.Errorf("%w: record: %w", ErrMalformed, eof(err))
	}
	if n < recordFields || n > retainedRecordFields {
		return 0, Header{}, fmt.Errorf("%w: record: want %d to %d fields, found %d", ErrMalformed, recordFields, retainedRecordFields, n)
	}
	epoch, err := readUint(d, "epoch")
	if err != nil {
		return 0, Header{}, err
	}
	since, err := readUint(d, "since")
	if err != nil {
		return 0, Header{}, err
	}
	if since > math.MaxInt64 {
		return 0, Header{}, fmt.Errorf("%w: record time %d out of range", ErrMalformed, since)
	}
	return n, Header{Epoch: epoch, SinceMS: int64(since)}, nil
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
