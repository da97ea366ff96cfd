package mpcheck

import "fmt"

// inlineFrames is how many open containers Check tracks without allocating.
// It covers DefaultMaxDepth twice over, so with default limits Check
// allocates only when it returns an error.
const inlineFrames = 32

// frame is an array or map that is open and still expects values.
type frame struct {
	off  int // offset of the container's first byte
	left int // values still expected; a map entry is two values
}

// Check reports whether b holds exactly one complete, well-formed msgpack
// value within lim. It returns nil if so, an error matching ErrLimits if lim
// is invalid (see Limits.Validate), and otherwise an *Error whose Err is:
//
//   - ErrTruncated if b is empty, ends in the middle of a value, or a str,
//     bin or ext declares more bytes than remain, an array more elements
//     than bytes remain, or a map more entries than half the bytes that
//     remain (every value takes at least one byte);
//   - ErrTooLong if an array or map declares more than lim.MaxLen elements
//     or entries;
//   - ErrTooDeep if arrays and maps nest deeper than lim.MaxDepth;
//   - ErrInvalid at the byte 0xc1, which msgpack never uses;
//   - ErrTrailing if bytes follow the value.
//
// Check stops at the first problem in byte order; a container that breaks
// several rules reports them in the order listed. Extension values, the
// timestamp extension included, are checked for length only.
//
// Check reads b only, does not retain it, and is safe for concurrent use.
// It never recurses, runs in O(len(b)) time whatever the declared lengths
// (str, bin and ext payloads are skipped, not read), and keeps an explicit
// stack of the open arrays and maps. That stack lives on the goroutine's
// stack up to 32 levels, so with default limits Check allocates only the
// error it returns; deeper, it grows on the heap in proportion to the depth
// reached, never beyond min(lim.MaxDepth, len(b)) frames.
func Check(b []byte, lim Limits) error {
	if err := lim.Validate(); err != nil {
		return err
	}
	if len(b) == 0 {
		return &Error{Offset: 0, Reason: "input is empty", Err: ErrTruncated}
	}
	maxDepth, maxLen := lim.depth(), lim.length()
	var inline [inlineFrames]frame
	stack := inline[:0]
	pos := 0
	for {
		if pos == len(b) {
			// Only reachable inside a container: the top-level value
			// returns below as soon as it is complete.
			return endsEarly(b, pos, stack[len(stack)-1])
		}
		f := &formats[b[pos]]
		count, next, err := scan(b, pos, f)
		if err != nil {
			return err
		}
		if f.kind == kindArray || f.kind == kindMap {
			if err := admit(pos, f, count, len(stack)+1, maxDepth, maxLen); err != nil {
				return err
			}
			if count > 0 {
				if len(stack) == cap(stack) {
					stack = grow(stack, min(maxDepth, len(b)))
				}
				if f.kind == kindMap {
					count *= 2
				}
				stack = stack[:len(stack)+1]
				stack[len(stack)-1] = frame{off: pos, left: count}
				pos = next
				continue
			}
		}
		pos = next
		// A value ends at pos: close every container it completes.
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			top.left--
			if top.left > 0 {
				break
			}
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			if pos < len(b) {
				return &Error{Offset: pos, Err: ErrTrailing, Reason: fmt.Sprintf(
					"value ends at offset %d but %s", pos, follow(len(b)-pos))}
			}
			return nil
		}
	}
}

// scan checks the value that starts at b[off] against the bytes that remain.
// For an array or map it returns the declared count and the offset just past
// the header; for any other value, the offset just past the whole value.
func scan(b []byte, off int, f *format) (count, next int, err error) {
	rem := len(b) - off
	switch f.kind {
	case kindInvalid:
		return 0, 0, &Error{Offset: off, Err: ErrInvalid, Reason: fmt.Sprintf(
			"byte 0x%02x at offset %d is not a msgpack type", b[off], off)}
	case kindFixed:
		if rem < int(f.size) {
			return 0, 0, &Error{Offset: off, Err: ErrTruncated, Reason: fmt.Sprintf(
				"%s at offset %d needs %d bytes but %s", f.name, off, f.size, remain(rem))}
		}
		return 0, off + int(f.size), nil
	}
	hl := f.headerLen()
	if rem < hl {
		return 0, 0, &Error{Offset: off, Err: ErrTruncated, Reason: fmt.Sprintf(
			"%s at offset %d needs a %d-byte header but %s", f.name, off, hl, remain(rem))}
	}
	n := uint64(f.fixed)
	for _, c := range b[off+1 : off+1+int(f.lenLen)] {
		n = n<<8 | uint64(c)
	}
	avail := rem - hl
	switch f.kind {
	case kindBytes, kindExt:
		if n > uint64(avail) {
			unit := "bytes"
			if f.kind == kindExt {
				unit = "data bytes"
			}
			return 0, 0, &Error{Offset: off, Err: ErrTruncated, Reason: fmt.Sprintf(
				"%s at offset %d declares %d %s but %s", f.family, off, n, unit, remain(avail))}
		}
		return 0, off + hl + int(n), nil
	case kindArray:
		if n > uint64(avail) {
			return 0, 0, &Error{Offset: off, Err: ErrTruncated, Reason: fmt.Sprintf(
				"array at offset %d declares %d elements but %s", off, n, remain(avail))}
		}
	case kindMap:
		if n > uint64(avail/2) {
			return 0, 0, &Error{Offset: off, Err: ErrTruncated, Reason: fmt.Sprintf(
				"map at offset %d declares %d entries but %s (an entry takes at least 2)",
				off, n, remain(avail))}
		}
	}
	return int(n), off + hl, nil
}

// admit checks an array or map of count elements at depth against the
// limits.
func admit(off int, f *format, count, depth, maxDepth, maxLen int) error {
	if count > maxLen {
		unit := "elements"
		if f.kind == kindMap {
			unit = "entries"
		}
		return &Error{Offset: off, Err: ErrTooLong, Reason: fmt.Sprintf(
			"%s at offset %d declares %d %s, over the limit of %d", f.family, off, count, unit, maxLen)}
	}
	if depth > maxDepth {
		return &Error{Offset: off, Err: ErrTooDeep, Reason: fmt.Sprintf(
			"%s at offset %d nests %d deep, over the limit of %d", f.family, off, depth, maxDepth)}
	}
	return nil
}

// grow returns a copy of the full stack with twice the room, but no more
// than limit frames. Check calls it only when another frame is within both
// the depth limit and len(b) (every open container has a distinct first
// byte), so limit > len(stack) and the copy has room for it.
func grow(stack []frame, limit int) []frame {
	s := make([]frame, len(stack), min(2*cap(stack), limit))
	copy(s, stack)
	return s
}

// endsEarly describes input that ends at pos while top still expects values.
func endsEarly(b []byte, pos int, top frame) error {
	what := fmt.Sprintf("%d more elements", top.left)
	if formats[b[top.off]].kind == kindMap {
		what = fmt.Sprintf("%d more keys and values", top.left)
	}
	return &Error{Offset: pos, Err: ErrTruncated, Reason: fmt.Sprintf(
		"input ends at offset %d but the %s at offset %d still expects %s",
		pos, formats[b[top.off]].family, top.off, what)}
}

// remain phrases how many bytes remain.
func remain(n int) string {
	if n == 1 {
		return "1 byte remains"
	}
	return fmt.Sprintf("%d bytes remain", n)
}

// follow phrases how many bytes follow.
func follow(n int) string {
	if n == 1 {
		return "1 byte follows"
	}
	return fmt.Sprintf("%d bytes follow", n)
}
