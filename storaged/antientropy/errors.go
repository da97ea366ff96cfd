package antientropy

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid is wrapped by errors about arguments: a Config out of
	// range, a nil tree.
	ErrInvalid = errors.New("antientropy: invalid")

	// ErrMalformed is wrapped by the error an exchange fails with when the
	// peer's answer is not an answer to what was asked: a wrong message
	// type, an undecodable or inconsistent tree part, a page of keys out of
	// order, outside the leaves asked or over the count asked.
	ErrMalformed = errors.New("antientropy: malformed answer")

	// ErrPeer is wrapped by the error an exchange fails with when a send
	// failed (Fail): the error answer, transport failure or context error
	// is wrapped too.
	ErrPeer = errors.New("antientropy: peer failed")

	// ErrLocal is wrapped by the error an exchange fails with when the
	// shell's scan (Local) is not what was asked: a key twice, or a key
	// outside the leaves asked.
	ErrLocal = errors.New("antientropy: bad local scan")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func localf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLocal}, args...)...)
}
