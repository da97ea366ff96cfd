package handoff

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid is wrapped by errors about arguments: a Config out of
	// range, an empty node id.
	ErrInvalid = errors.New("handoff: invalid")

	// ErrMalformed is wrapped by errors about a message that breaks the
	// protocol: a batch over the limits asked, out of order, with keys not
	// ascending or not after the cursor, from beyond the window; an Open or
	// Ack out of bounds.
	ErrMalformed = errors.New("handoff: malformed")

	// ErrRefused is matched (errors.Is) by every *RefusedError: the sender
	// refused the transfer for good (its ring is newer, or it does not hold
	// the partition). The plan that named the transfer is outdated.
	ErrRefused = errors.New("handoff: refused")

	// ErrStalled is wrapped by the error a transfer gives up with after
	// Config.MaxFailures consecutive failures without progress, and by the
	// failure a batch deadline records.
	ErrStalled = errors.New("handoff: stalled")
)

// RefusedError is the end of a transfer the sender refused for good.
type RefusedError struct {
	Reason Refusal
	// RingVersion is the sender's ring version.
	RingVersion uint64
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("handoff: refused by the sender (ring version %d): %s", e.RingVersion, e.Reason)
}

// Is makes errors.Is(err, ErrRefused) hold.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
