package merkle

import (
	"encoding/binary"
	"math/bits"
)

// Encoding of a Part (all integers unsigned; uvarint as encoding/binary):
//
//	format  byte     partFormat (1)
//	level   byte     Level
//	size    byte     log2(Leaves)
//	runs    uvarint  number of runs of consecutive ids
//	runs ×  (gap uvarint, length uvarint)
//	hashes  4 bytes big-endian per id, in id order
//
// A run starts gap ids after the end of the previous run (after 0 for the
// first); every run but the first has gap ≥ 1 and every length is ≥ 1, so
// the encoding of a Part is unique. Runs make a complete level or whole
// branches of leaves cost a few bytes of ids, and scattered ids about 2-4
// bytes each: Top of a 2^18-leaf tree is 16,391 bytes.
const partFormat = 1

const partHeader = 3

// Encode returns the encoding of p, or an error wrapping ErrInvalid when p is
// not valid (Validate).
func (p Part) Encode() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	runs := runsOf(p.IDs)
	b := make([]byte, 0, partHeader+binary.MaxVarintLen64*(1+2*len(runs))+4*len(p.Hashes))
	b = append(b, partFormat, byte(p.Level), byte(bits.TrailingZeros(uint(p.Leaves))))
	b = binary.AppendUvarint(b, uint64(len(runs)))
	end := 0
	for _, r := range runs {
		b = binary.AppendUvarint(b, uint64(r.start-end))
		b = binary.AppendUvarint(b, uint64(r.n))
		end = r.start + r.n
	}
	for _, h := range p.Hashes {
		b = binary.BigEndian.AppendUint32(b, h)
	}
	return b, nil
}

type run struct{ start, n int }

// runsOf splits sorted ids into maximal runs of consecutive ids.
func runsOf(ids []int) []run {
	var out []run
	for _, id := range ids {
		if k := len(out) - 1; k >= 0 && out[k].start+out[k].n == id {
			out[k].n++
			continue
		}
		out = append(out, run{start: id, n: 1})
	}
	return out
}

// DecodePart decodes one Part from b, which must hold exactly one encoding.
// Every error wraps ErrMalformed and says what was wrong. Declared counts are
// checked against the level's width and against the bytes that remain before
// anything is allocated, so decoding allocates at most a small multiple of
// len(b). The result never aliases b.
func DecodePart(b []byte) (Part, error) {
	if len(b) < partHeader {
		return Part{}, malformedf("part: %d bytes, want at least %d", len(b), partHeader)
	}
	if b[0] != partFormat {
		return Part{}, malformedf("part: format %d, want %d", b[0], partFormat)
	}
	level := Level(b[1])
	if level.width(MinLeaves) == 0 {
		return Part{}, malformedf("part: unknown level %d", b[1])
	}
	if b[2] >= 63 || !ValidSize(1<<b[2]) {
		return Part{}, malformedf("part: size 2^%d leaves, want 2^%d to 2^%d",
			b[2], bits.TrailingZeros(MinLeaves), bits.TrailingZeros(MaxLeaves))
	}
	p := Part{Leaves: 1 << b[2], Level: level}
	width := level.width(p.Leaves)
	rest := b[partHeader:]
	nruns, rest, err := uvarint(rest, "run count", uint64(width))
	if err != nil {
		return Part{}, err
	}
	runs, total, err := scanRuns(rest, int(nruns), width)
	if err != nil {
		return Part{}, err
	}
	hashes := rest[runs:]
	if len(hashes) != 4*total {
		return Part{}, malformedf("part: %d ids need %d hash bytes, found %d", total, 4*total, len(hashes))
	}
	p.IDs = make([]int, 0, total)
	p.Hashes = make([]uint32, total)
	end := 0
	for range nruns {
		var gap, n uint64
		gap, rest, _ = uvarint(rest, "", uint64(width))
		n, rest, _ = uvarint(rest, "", uint64(width))
		start := end + int(gap)
		for id := start; id < start+int(n); id++ {
			p.IDs = append(p.IDs, id)
		}
		end = start + int(n)
	}
	for i := range p.Hashes {
		p.Hashes[i] = binary.BigEndian.Uint32(hashes[4*i:])
	}
	return p, nil
}

// scanRuns checks nruns (gap, length) pairs at the start of b without
// allocating and returns the bytes they take and the number of ids they
// declare.
func scanRuns(b []byte, nruns, width int) (used, total int, err error) {
	rest, end := b, 0
	for i := range nruns {
		var gap, n uint64
		if gap, rest, err = uvarint(rest, "run gap", uint64(width)); err != nil {
			return 0, 0, err
		}
		if n, rest, err = uvarint(rest, "run length", uint64(width)); err != nil {
			return 0, 0, err
		}
		if i > 0 && gap == 0 {
			return 0, 0, malformedf("part: run %d has gap 0 (runs must not touch)", i)
		}
		if n == 0 {
			return 0, 0, malformedf("part: run %d is empty", i)
		}
		if end+int(gap)+int(n) > width {
			return 0, 0, malformedf("part: run %d ends at id %d, beyond the level's %d ids",
				i, end+int(gap)+int(n), width)
		}
		end += int(gap) + int(n)
		total += int(n)
	}
	return len(b) - len(rest), total, nil
}

// uvarint reads one uvarint in its shortest form, of at most limit, from b
// and returns the rest.
func uvarint(b []byte, what string, limit uint64) (uint64, []byte, error) {
	x, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, malformedf("part: %s: truncated or overlong uvarint", what)
	}
	if n > 1 && b[n-1] == 0 {
		return 0, nil, malformedf("part: %s: uvarint not in its shortest form", what)
	}
	if x > limit {
		return 0, nil, malformedf("part: %s %d exceeds %d", what, x, limit)
	}
	return x, b[n:], nil
}
