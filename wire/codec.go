package wire

import (
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/mpcheck"
)

// bodyLimits bound the structure of every body: nesting depth (our messages
// nest at most a handful of levels) and the element count of any one array or
// map (the largest legitimate ones are ring tables and version vectors).
var bodyLimits = mpcheck.Limits{MaxDepth: 12, MaxLen: 1 << 16}

// Encode marshals a message body.
func Encode(msg any) ([]byte, error) {
	b, err := msgpack.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %T: %w", msg, err)
	}
	return b, nil
}

// Decode checks body structurally (bounded, non-recursive) and only then
// decodes it into msg, a pointer to one of this package's message structs.
// Errors wrap ErrBadRequest (or ErrTooLarge for a count over a cap).
func Decode(body []byte, msg any) error {
	if err := mpcheck.Check(body, bodyLimits); err != nil {
		return fmt.Errorf("%w: %w", classify(err), err)
	}
	if err := msgpack.Unmarshal(body, msg); err != nil {
		return fmt.Errorf("%w: decode %T: %w", classify(err), msg, err)
	}
	return nil
}

// classify maps a count over a cap (including a custom decoder's error that
// already wraps ErrTooLarge) to ErrTooLarge and everything else to
// ErrBadRequest.
func classify(err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, mpcheck.ErrTooLong) || errors.Is(err, dvv.ErrLimit) || errors.Is(err, ring.ErrTooManyNodes) {
		return ErrTooLarge
	}
	return ErrBadRequest
}
