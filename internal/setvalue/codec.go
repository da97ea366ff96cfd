// Package setvalue is the value format and the resolvers of the set
// workload (Jepsen's "set"): each key holds a set of uint64 elements, and
// every write adds one element through driver.Client.Update. Union is the
// correct resolver: it folds every sibling into their union, so no add is
// ever lost. LastWriteWins is a deliberately wrong one, kept as a negative
// control: a checker that cannot catch it losing adds is not checking.
//
// Only tests may import it.
package setvalue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// version is the first byte of every encoded Set.
const version = 1

// headerLen is the version byte plus the big-endian int64 stamp.
const headerLen = 1 + 8

// ErrCorrupt is wrapped by every error Decode returns.
var ErrCorrupt = errors.New("setvalue: corrupt value")

// Set is one value of the workload: its elements and the time of the write
// that made it.
type Set struct {
	// Elements are ascending without repeats in a Set from Decode or
	// Merge. Encode accepts any order and repeats.
	Elements []uint64
	// Stamp is the write's timestamp as the writer's caller supplied it
	// (Unix nanoseconds, by convention). Only LastWriteWins reads it.
	Stamp int64
}

// Encode returns the canonical encoding of s: a version byte (1), Stamp as
// 8 big-endian bytes, the element count as a uvarint, then the distinct
// elements ascending, the first as a uvarint and each next one as the
// uvarint of its (positive) difference from the one before. Equal sets with
// equal stamps encode to equal bytes, whatever the order of s.Elements.
// A dense set costs about one byte per element. s is not modified.
func (s Set) Encode() []byte {
	elems := slices.Clone(s.Elements)
	slices.Sort(elems)
	elems = slices.Compact(elems)
	b := make([]byte, headerLen, headerLen+binary.MaxVarintLen64+2*len(elems))
	b[0] = version
	binary.BigEndian.PutUint64(b[1:], uint64(s.Stamp))
	b = binary.AppendUvarint(b, uint64(len(elems)))
	var prev uint64
	for i, e := range elems {
		if i == 0 {
			b = binary.AppendUvarint(b, e)
		} else {
			b = binary.AppendUvarint(b, e-prev)
		}
		prev = e
	}
	return b
}

// Decode parses an encoding made by Encode. It accepts exactly the
// canonical encodings (so Decode then Encode gives back the same bytes) and
// otherwise returns an error wrapping ErrCorrupt that names the byte offset
// and the problem. It allocates no more than the input's length justifies.
func Decode(b []byte) (Set, error) {
	if len(b) < headerLen+1 {
		return Set{}, corrupt(0, "%d bytes, shorter than the %d-byte minimum", len(b), headerLen+1)
	}
	if b[0] != version {
		return Set{}, corrupt(0, "version %d, want %d", b[0], version)
	}
	s := Set{Stamp: int64(binary.BigEndian.Uint64(b[1:headerLen]))}
	off := headerLen
	n, err := uvarint(b, &off, "element count")
	if err != nil {
		return Set{}, err
	}
	if left := uint64(len(b) - off); n > left {
		return Set{}, corrupt(off, "element count %d exceeds the %d bytes left", n, left)
	}
	s.Elements = make([]uint64, 0, n)
	var prev uint64
	for i := range n {
		at := off
		d, err := uvarint(b, &off, fmt.Sprintf("element %d", i))
		if err != nil {
			return Set{}, err
		}
		e := d
		if i > 0 {
			if d == 0 {
				return Set{}, corrupt(at, "element %d repeats element %d", i, i-1)
			}
			if e = prev + d; e < prev {
				return Set{}, corrupt(at, "element %d overflows uint64", i)
			}
		}
		s.Elements = append(s.Elements, e)
		prev = e
	}
	if off != len(b) {
		return Set{}, corrupt(off, "%d trailing bytes", len(b)-off)
	}
	return s, nil
}

// uvarint reads a minimally encoded uvarint at *off and advances it.
func uvarint(b []byte, off *int, what string) (uint64, error) {
	v, n := binary.Uvarint(b[*off:])
	switch {
	case n == 0:
		return 0, corrupt(*off, "%s: truncated varint", what)
	case n < 0:
		return 0, corrupt(*off, "%s: varint overflows uint64", what)
	case n != uvarintLen(v):
		return 0, corrupt(*off, "%s: varint not minimally encoded", what)
	}
	*off += n
	return v, nil
}

func uvarintLen(v uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], v)
}

func corrupt(off int, format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrCorrupt, off, fmt.Sprintf(format, args...))
}
