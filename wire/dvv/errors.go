package dvv

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid is wrapped by every error that reports a broken invariant
	// (Validate) and by decoders when decoded data breaks one.
	ErrInvalid = errors.New("dvv: invalid")

	// ErrMalformed is wrapped by decoding errors about the shape of the
	// encoding: a wrong msgpack type, a nil where an array is expected, a
	// wrong field count, a truncated input or trailing bytes.
	ErrMalformed = errors.New("dvv: malformed encoding")

	// ErrLimit is matched (errors.Is) by every *LimitError.
	ErrLimit = errors.New("dvv: limit exceeded")

	// ErrExhausted reports that an actor's counter cannot grow any more, which
	// only a forged causal context can cause (see Set.NextDot).
	ErrExhausted = errors.New("dvv: counter exhausted")
)

// LimitError reports a length over one of the codec's hard caps
// (MaxDecodeEntries, MaxDecodeSiblings, MaxActorNode). It matches ErrLimit.
type LimitError struct {
	What string // what was too long: "vv", "siblings", "actor node"
	Len  int64  // the length declared or found
	Max  int64  // the cap
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("dvv: %s length %d exceeds limit %d", e.What, e.Len, e.Max)
}

// Is reports whether target is ErrLimit.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
