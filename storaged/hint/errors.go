package hint

import "errors"

var (
	// ErrMalformed is wrapped by every error of ParseKey, DecodeRecord and
	// DecodeHeader about bytes that are not a hint key or record. A record
	// whose object breaks the dvv codec's rules also wraps the dvv error.
	ErrMalformed = errors.New("hint: malformed")

	// ErrInvalid is wrapped by errors of Key and EncodeRecord about
	// arguments that cannot be encoded (an empty or oversized key or owner,
	// a negative time).
	ErrInvalid = errors.New("hint: invalid")

	// ErrRefused is matched (errors.Is) by every *RefusedError.
	ErrRefused = errors.New("hint: refused")
)
