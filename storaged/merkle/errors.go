package merkle

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid is wrapped by errors about arguments: a tree size that is
	// not a power of two in [MinLeaves, MaxLeaves], an id out of range, ids
	// not sorted strictly, a Part whose hashes do not match its ids.
	ErrInvalid = errors.New("merkle: invalid")

	// ErrMalformed is wrapped by every DecodePart error about bytes that are
	// not an encoded Part.
	ErrMalformed = errors.New("merkle: malformed")

	// ErrMismatch is wrapped by diff and fold errors about two trees or parts
	// that cannot be compared as given: different sizes (the larger side
	// folds first), a different level, or a fold asked of an incomplete
	// part.
	ErrMismatch = errors.New("merkle: mismatch")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func mismatchf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMismatch}, args...)...)
}
