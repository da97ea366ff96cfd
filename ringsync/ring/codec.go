package ring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The wire form of a ring is one msgpack array of four elements:
//
//	[version uint, q uint, [[id str, addr str], ...] nodes, [owner uint, ...]]
//
// with nodes sorted by id, and owners holding, for each of the q partitions,
// the index of its owner in nodes. Every value uses msgpack's shortest form
// (as this package's encoder writes it), so the encoding of a ring is
// canonical: Decode accepts exactly the bytes Encode produces, and equal rings
// have equal bytes, which makes the bytes safe to hash or compare.
//
// A decoded ring must satisfy every structural invariant of a built one:
// version at least 1, q a power of two in range, 1 to min(q, MaxNodes) valid
// nodes with unique ids in increasing order, owner indices in range, and every
// node owning at least one partition (a member that owns nothing has no place
// in the ring; nodes waiting to join belong to membership, not ownership).
// Balance is not required: it is a property of how this package builds
// rings, not of the format, so a future assignment policy (weighted nodes,
// say) stays readable.

var (
	_ msgpack.CustomEncoder = (*Ring)(nil)
	_ msgpack.CustomDecoder = (*Ring)(nil)
)

// Encode returns the canonical msgpack form of r.
func Encode(r *Ring) ([]byte, error) {
	if r == nil {
		return nil, errors.New("ring: encode nil ring")
	}
	var buf bytes.Buffer
	buf.Grow(16 + 24*len(r.nodes) + 2*len(r.owners))
	if err := r.EncodeMsgpack(msgpack.NewEncoder(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode parses the msgpack form of a ring from untrusted bytes. It rejects
// anything Encode would not produce, including trailing bytes, with an error
// that matches [ErrMalformed] (and [ErrInvalidNode], [ErrDuplicateNode] or
// [ErrPartitions] where one applies). It allocates in proportion to the bytes
// actually present, whatever lengths they declare.
func Decode(b []byte) (*Ring, error) {
	rd := bytes.NewReader(b)
	r, err := decodeRing(msgpack.NewDecoder(rd))
	if err != nil {
		return nil, err
	}
	if rd.Len() != 0 {
		return nil, fmt.Errorf("%w: trailing bytes: %d", ErrMalformed, rd.Len())
	}
	return r, nil
}

// EncodeMsgpack writes r's wire form; it implements [msgpack.CustomEncoder].
func (r *Ring) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeArrayLen(4); err != nil {
		return err
	}
	if err := e.EncodeUint(r.version); err != nil {
		return err
	}
	if err := e.EncodeUint(uint64(len(r.owners))); err != nil {
		return err
	}
	if err := e.EncodeArrayLen(len(r.nodes)); err != nil {
		return err
	}
	for _, n := range r.nodes {
		if err := e.EncodeArrayLen(2); err != nil {
			return err
		}
		if err := e.EncodeString(string(n.ID)); err != nil {
			return err
		}
		if err := e.EncodeString(n.Addr); err != nil {
			return err
		}
	}
	if err := e.EncodeArrayLen(len(r.owners)); err != nil {
		return err
	}
	for _, o := range r.owners {
		if err := e.EncodeUint(uint64(o)); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack reads a ring's wire form with the checks of [Decode] (except
// trailing bytes, which belong to the enclosing message); it implements
// [msgpack.CustomDecoder]. It overwrites r, so call it only on a Ring that no
// one else can see yet.
func (r *Ring) DecodeMsgpack(d *msgpack.Decoder) error {
	got, err := decodeRing(d)
	if err != nil {
		return err
	}
	*r = *got
	return nil
}

// decodeRing reads and validates one ring.
func decodeRing(d *msgpack.Decoder) (*Ring, error) {
	if _, err := readArrayLen(d, "top-level array", 4, 4); err != nil {
		return nil, err
	}
	version, err := readUint(d, "version", math.MaxUint64)
	if err != nil {
		return nil, err
	}
	if version == 0 {
		return nil, fmt.Errorf("%w: version 0", ErrMalformed)
	}
	q64, err := readUint(d, "partition count", MaxPartitions)
	if err != nil {
		return nil, err
	}
	q := int(q64)
	if err := checkPartitions(q); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	nodes, err := decodeNodes(d, q)
	if err != nil {
		return nil, err
	}
	owners, err := decodeOwners(d, q, len(nodes))
	if err != nil {
		return nil, err
	}
	return build(version, nodes, owners), nil
}

// decodeNodes reads the member list of a ring of q partitions.
func decodeNodes(d *msgpack.Decoder, q int) ([]Node, error) {
	count, err := readArrayLen(d, "nodes", 1, maxNodes(q))
	if err != nil {
		return nil, err
	}
	nodes := make([]Node, 0, min(count, 64)) // grows with what is really there
	for i := range count {
		if _, err := readArrayLen(d, "node", 2, 2); err != nil {
			return nil, err
		}
		id, err := readString(d, "node id", MaxIDLen)
		if err != nil {
			return nil, err
		}
		addr, err := readString(d, "node address", MaxAddrLen)
		if err != nil {
			return nil, err
		}
		n := Node{ID: NodeID(id), Addr: addr}
		if err := validateNode(n); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if i > 0 {
			switch prev := nodes[i-1].ID; {
			case n.ID == prev:
				return nil, fmt.Errorf("%w: %w: %q", ErrMalformed, ErrDuplicateNode, n.ID)
			case n.ID < prev:
				return nil, fmt.Errorf("%w: node %q after %q: ids out of order", ErrMalformed, n.ID, prev)
			}
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// decodeOwners reads the owner of each of q partitions among n nodes and
// checks that every node owns one.
func decodeOwners(d *msgpack.Decoder, q, n int) ([]uint16, error) {
	if _, err := readArrayLen(d, "owners", q, q); err != nil {
		return nil, err
	}
	owners := make([]uint16, 0, min(q, 1024)) // grows with what is really there
	var owns [MaxNodes / 64]uint64
	for range q {
		o, err := readUint(d, "owner", uint64(n-1))
		if err != nil {
			return nil, err
		}
		owners = append(owners, uint16(o))
		owns[o/64] |= 1 << (o % 64)
	}
	for i := range n {
		if owns[i/64]&(1<<(i%64)) == 0 {
			return nil, fmt.Errorf("%w: node %d owns no partition", ErrMalformed, i)
		}
	}
	return owners, nil
}

// readArrayLen reads an array header declaring between lo and hi elements, in
// its shortest form. Nil is not an array.
func readArrayLen(d *msgpack.Decoder, what string, lo, hi int) (int, error) {
	c, err := d.PeekCode()
	if err != nil {
		return 0, malformed(what, err)
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return 0, fmt.Errorf("%w: %s: code %#x is not an array", ErrMalformed, what, c)
	}
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, malformed(what, err)
	}
	if (c == msgpcode.Array16 && n < 16) || (c == msgpcode.Array32 && n <= math.MaxUint16) {
		return 0, fmt.Errorf("%w: %s: array length %d not in its shortest form", ErrMalformed, what, n)
	}
	if n < lo || n > hi {
		want := fmt.Sprint(lo)
		if lo != hi {
			want = fmt.Sprintf("%d to %d", lo, hi)
		}
		return 0, fmt.Errorf("%w: %s: %d elements, want %s", ErrMalformed, what, n, want)
	}
	return n, nil
}

// readUint reads an unsigned integer of at most hi, in its shortest form.
func readUint(d *msgpack.Decoder, what string, hi uint64) (uint64, error) {
	c, err := d.PeekCode()
	if err != nil {
		return 0, malformed(what, err)
	}
	var floor uint64 // the least value that needs code c
	switch {
	case c <= msgpcode.PosFixedNumHigh:
	case c == msgpcode.Uint8:
		floor = math.MaxInt8 + 1
	case c == msgpcode.Uint16:
		floor = math.MaxUint8 + 1
	case c == msgpcode.Uint32:
		floor = math.MaxUint16 + 1
	case c == msgpcode.Uint64:
		floor = math.MaxUint32 + 1
	default:
		return 0, fmt.Errorf("%w: %s: code %#x is not an unsigned integer", ErrMalformed, what, c)
	}
	v, err := d.DecodeUint64()
	if err != nil {
		return 0, malformed(what, err)
	}
	if v < floor {
		return 0, fmt.Errorf("%w: %s: %d not in its shortest form", ErrMalformed, what, v)
	}
	if v > hi {
		return 0, fmt.Errorf("%w: %s: %d exceeds %d", ErrMalformed, what, v, hi)
	}
	return v, nil
}

// readString reads a string of at most hi (< 256) bytes, in its shortest
// form; longer forms are refused before their bytes are read.
func readString(d *msgpack.Decoder, what string, hi int) (string, error) {
	c, err := d.PeekCode()
	if err != nil {
		return "", malformed(what, err)
	}
	if !msgpcode.IsFixedString(c) && c != msgpcode.Str8 {
		return "", fmt.Errorf("%w: %s: code %#x is not a string of at most %d bytes", ErrMalformed, what, c, hi)
	}
	s, err := d.DecodeString()
	if err != nil {
		return "", malformed(what, err)
	}
	if c == msgpcode.Str8 && len(s) < 32 {
		return "", fmt.Errorf("%w: %s: string of %d bytes not in its shortest form", ErrMalformed, what, len(s))
	}
	if len(s) > hi {
		return "", fmt.Errorf("%w: %s: %d bytes, at most %d", ErrMalformed, what, len(s), hi)
	}
	return s, nil
}

// malformed wraps a low-level read error.
func malformed(what string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
}
