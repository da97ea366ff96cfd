package dvv

import (
	"bytes"

	"github.com/vmihailenco/msgpack/v5"
)

// Encoding. Every type encodes as a msgpack array with a fixed layout:
//
//	Actor   = [node str, epoch uint]
//	Dot     = [Actor, counter uint]
//	Entry   = [Actor, counter uint]
//	VV      = [Entry...]
//	Sibling = [Dot, value bin, tombstone bool]
//	Set     = [[Sibling...], VV]
//
// Encoders validate first and refuse what a decoder would reject, so
// encoded bytes always decode. Decoders accept only this layout (exact field
// counts, no nil in place of an array or a scalar, unsigned integers only),
// check counts against MaxDecodeEntries, MaxDecodeSiblings and MaxActorNode
// before allocating, and validate what they decoded. A failed decode leaves
// the receiver unchanged. Decoded values never alias the input.
//
// EncodeMsgpack has a value receiver and DecodeMsgpack a pointer receiver, so
// both T and *T are msgpack.CustomEncoders and *T is a msgpack.CustomDecoder:
// msgpack.Marshal works on values and pointers alike, including fields of a
// message passed by value (a pointer-receiver encoder fails there as
// "non-addressable").
//
// A caveat of the msgpack library: when it decodes one of these types by
// reflection (as a struct field, or via msgpack.Unmarshal) and finds nil, it
// stores the zero value without calling DecodeMsgpack, so that nil is not
// rejected. The zero VV and the zero Set are valid; a zero Actor, Dot, Entry
// or Sibling is not, and callers decoding those as fields validate them.

var (
	_ msgpack.CustomEncoder = Actor{}
	_ msgpack.CustomEncoder = Set{}
	_ msgpack.CustomEncoder = (*Actor)(nil)
	_ msgpack.CustomDecoder = (*Actor)(nil)
	_ msgpack.CustomEncoder = (*Dot)(nil)
	_ msgpack.CustomDecoder = (*Dot)(nil)
	_ msgpack.CustomEncoder = (*Entry)(nil)
	_ msgpack.CustomDecoder = (*Entry)(nil)
	_ msgpack.CustomEncoder = (*VV)(nil)
	_ msgpack.CustomDecoder = (*VV)(nil)
	_ msgpack.CustomEncoder = (*Sibling)(nil)
	_ msgpack.CustomDecoder = (*Sibling)(nil)
	_ msgpack.CustomEncoder = (*Set)(nil)
	_ msgpack.CustomDecoder = (*Set)(nil)
)

// EncodeVV returns the encoding of v, for example the opaque context bytes a
// client carries between a read and a write.
func EncodeVV(v VV) ([]byte, error) {
	return encode(v.EncodeMsgpack)
}

// DecodeVV decodes exactly one VV from b, strictly (see EncodeVV); trailing
// bytes and empty input are errors. Callers that allow an absent context
// check len(b) == 0 themselves.
func DecodeVV(b []byte) (VV, error) {
	var v VV
	if err := decode(b, v.DecodeMsgpack); err != nil {
		return nil, err
	}
	return v, nil
}

// EncodeSet returns the encoding of s; its length is s.Size().
func EncodeSet(s Set) ([]byte, error) {
	return encode(s.EncodeMsgpack)
}

// DecodeSet decodes exactly one Set from b, strictly; trailing bytes and
// empty input are errors.
func DecodeSet(b []byte) (Set, error) {
	var s Set
	if err := decode(b, s.DecodeMsgpack); err != nil {
		return Set{}, err
	}
	return s, nil
}

func encode(fn func(*msgpack.Encoder) error) ([]byte, error) {
	var buf bytes.Buffer
	if err := fn(msgpack.NewEncoder(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decode(b []byte, fn func(*msgpack.Decoder) error) error {
	r := bytes.NewReader(b) // an io.ByteScanner: the decoder reads no further than it must
	if err := fn(msgpack.NewDecoder(r)); err != nil {
		return err
	}
	if r.Len() != 0 {
		return malformedf("%d trailing bytes", r.Len())
	}
	return nil
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (a Actor) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return encodeActor(e, a)
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (a *Actor) DecodeMsgpack(d *msgpack.Decoder) error {
	v, err := decodeActor(d)
	if err == nil {
		err = v.Validate()
	}
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (x Dot) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := x.Validate(); err != nil {
		return err
	}
	return encodeDot(e, x)
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (x *Dot) DecodeMsgpack(d *msgpack.Decoder) error {
	v, err := decodeDot(d, "dot")
	if err == nil {
		err = v.Validate()
	}
	if err != nil {
		return err
	}
	*x = v
	return nil
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (x Entry) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := (VV{x}).Validate(); err != nil {
		return err
	}
	return encodeEntry(e, x)
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (x *Entry) DecodeMsgpack(d *msgpack.Decoder) error {
	v, err := decodeEntry(d)
	if err == nil {
		err = VV{v}.Validate()
	}
	if err != nil {
		return err
	}
	*x = v
	return nil
}

// EncodeMsgpack implements msgpack.CustomEncoder. A nil VV encodes as an
// empty array when this method is called; the msgpack library, encoding a nil
// VV by reflection, writes nil without calling it (and decodes that nil back
// to a nil VV without calling DecodeMsgpack).
func (v VV) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := v.Validate(); err != nil {
		return err
	}
	return encodeVV(e, v)
}

// DecodeMsgpack implements msgpack.CustomDecoder. An empty array decodes to
// a nil VV.
func (v *VV) DecodeMsgpack(d *msgpack.Decoder) error {
	w, err := decodeVV(d)
	if err == nil {
		err = w.Validate()
	}
	if err != nil {
		return err
	}
	*v = w
	return nil
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (x Sibling) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := x.Dot.Validate(); err != nil {
		return err
	}
	return encodeSibling(e, x)
}

// DecodeMsgpack implements msgpack.CustomDecoder. An empty value decodes to
// nil.
func (x *Sibling) DecodeMsgpack(d *msgpack.Decoder) error {
	v, err := decodeSibling(d)
	if err == nil {
		err = v.Dot.Validate()
	}
	if err != nil {
		return err
	}
	*x = v
	return nil
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (s Set) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return encodeSet(e, s)
}

// DecodeMsgpack implements msgpack.CustomDecoder. Empty slices decode to
// nil.
func (s *Set) DecodeMsgpack(d *msgpack.Decoder) error {
	v, err := decodeSet(d)
	if err == nil {
		err = v.Validate()
	}
	if err != nil {
		return err
	}
	*s = v
	return nil
}
