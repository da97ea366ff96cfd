package dvv

import (
	"github.com/vmihailenco/msgpack/v5"
)

// Unvalidated encoders and decoders of each layout (see codec.go). The
// exported methods validate around them, once per top-level value.

func encodeActor(e *msgpack.Encoder, a Actor) error {
	if len(a.Node) > MaxActorNode {
		return &LimitError{What: "actor node", Len: int64(len(a.Node)), Max: MaxActorNode}
	}
	if err := e.EncodeArrayLen(2); err != nil {
		return err
	}
	if err := writeString(e, a.Node); err != nil {
		return err
	}
	return e.EncodeUint(a.Epoch)
}

func decodeActor(d *msgpack.Decoder) (Actor, error) {
	if err := readTuple(d, "actor", 2); err != nil {
		return Actor{}, err
	}
	node, err := readString(d, "actor node", MaxActorNode)
	if err != nil {
		return Actor{}, err
	}
	epoch, err := readUint(d, "actor epoch")
	if err != nil {
		return Actor{}, err
	}
	return Actor{Node: node, Epoch: epoch}, nil
}

// encodeCounted writes the [Actor, counter] layout shared by Dot and Entry.
func encodeCounted(e *msgpack.Encoder, a Actor, counter uint64) error {
	if err := e.EncodeArrayLen(2); err != nil {
		return err
	}
	if err := encodeActor(e, a); err != nil {
		return err
	}
	return e.EncodeUint(counter)
}

// decodeCounted reads the [Actor, counter] layout shared by Dot and Entry.
func decodeCounted(d *msgpack.Decoder, what string) (Actor, uint64, error) {
	if err := readTuple(d, what, 2); err != nil {
		return Actor{}, 0, err
	}
	a, err := decodeActor(d)
	if err != nil {
		return Actor{}, 0, err
	}
	c, err := readUint(d, what+" counter")
	if err != nil {
		return Actor{}, 0, err
	}
	return a, c, nil
}

func encodeDot(e *msgpack.Encoder, x Dot) error {
	return encodeCounted(e, x.Actor, x.Counter)
}

func decodeDot(d *msgpack.Decoder, what string) (Dot, error) {
	a, c, err := decodeCounted(d, what)
	return Dot{Actor: a, Counter: c}, err
}

func encodeEntry(e *msgpack.Encoder, x Entry) error {
	return encodeCounted(e, x.Actor, x.Counter)
}

func decodeEntry(d *msgpack.Decoder) (Entry, error) {
	a, c, err := decodeCounted(d, "vv entry")
	return Entry{Actor: a, Counter: c}, err
}

func encodeVV(e *msgpack.Encoder, v VV) error {
	if len(v) > MaxDecodeEntries {
		return &LimitError{What: "vv", Len: int64(len(v)), Max: MaxDecodeEntries}
	}
	if err := e.EncodeArrayLen(len(v)); err != nil {
		return err
	}
	for _, x := range v {
		if err := encodeEntry(e, x); err != nil {
			return err
		}
	}
	return nil
}

// decodeVV reads a VV, growing the slice as entries actually arrive rather
// than trusting the declared count.
func decodeVV(d *msgpack.Decoder) (VV, error) {
	n, err := readList(d, "vv", MaxDecodeEntries)
	if err != nil || n == 0 {
		return nil, err
	}
	v := make(VV, 0, min(n, initialCap))
	for range n {
		x, err := decodeEntry(d)
		if err != nil {
			return nil, err
		}
		v = append(v, x)
	}
	return v, nil
}

// initialCap bounds the capacity a decoder reserves for a declared count.
const initialCap = 16

func encodeSibling(e *msgpack.Encoder, x Sibling) error {
	if err := e.EncodeArrayLen(3); err != nil {
		return err
	}
	if err := encodeDot(e, x.Dot); err != nil {
		return err
	}
	if err := writeBin(e, "sibling value", x.Value); err != nil {
		return err
	}
	return e.EncodeBool(x.Tombstone)
}

func decodeSibling(d *msgpack.Decoder) (Sibling, error) {
	if err := readTuple(d, "sibling", 3); err != nil {
		return Sibling{}, err
	}
	dot, err := decodeDot(d, "sibling dot")
	if err != nil {
		return Sibling{}, err
	}
	value, err := readBin(d, "sibling value")
	if err != nil {
		return Sibling{}, err
	}
	tomb, err := readBool(d, "sibling tombstone")
	if err != nil {
		return Sibling{}, err
	}
	return Sibling{Dot: dot, Value: value, Tombstone: tomb}, nil
}

func encodeSet(e *msgpack.Encoder, s Set) error {
	if len(s.Siblings) > MaxDecodeSiblings {
		return &LimitError{What: "siblings", Len: int64(len(s.Siblings)), Max: MaxDecodeSiblings}
	}
	if err := e.EncodeArrayLen(2); err != nil {
		return err
	}
	if err := e.EncodeArrayLen(len(s.Siblings)); err != nil {
		return err
	}
	for _, x := range s.Siblings {
		if err := encodeSibling(e, x); err != nil {
			return err
		}
	}
	return encodeVV(e, s.VV)
}

func decodeSet(d *msgpack.Decoder) (Set, error) {
	if err := readTuple(d, "set", 2); err != nil {
		return Set{}, err
	}
	n, err := readList(d, "siblings", MaxDecodeSiblings)
	if err != nil {
		return Set{}, err
	}
	var sibs []Sibling
	if n > 0 {
		sibs = make([]Sibling, 0, min(n, initialCap))
	}
	for range n {
		x, err := decodeSibling(d)
		if err != nil {
			return Set{}, err
		}
		sibs = append(sibs, x)
	}
	vv, err := decodeVV(d)
	if err != nil {
		return Set{}, err
	}
	return Set{Siblings: sibs, VV: vv}, nil
}
