package mpcheck

import "errors"

// Sentinels returned, wrapped in an *Error, by Check. Match them with
// errors.Is.
var (
	// ErrTruncated means the input ends in the middle of a value, or a value
	// declares more bytes or elements than the bytes that remain could hold.
	// Empty input is truncated too.
	ErrTruncated = errors.New("mpcheck: truncated")
	// ErrTooDeep means arrays and maps nest deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("mpcheck: nested too deep")
	// ErrTooLong means an array or map declares more elements (entries for
	// a map) than Limits.MaxLen.
	ErrTooLong = errors.New("mpcheck: too many elements")
	// ErrTrailing means bytes follow the single top-level value.
	ErrTrailing = errors.New("mpcheck: trailing bytes")
	// ErrInvalid means a byte where a value starts is not a msgpack type
	// (0xc1, the one code the format never uses).
	ErrInvalid = errors.New("mpcheck: invalid type byte")
	// ErrLimits means a Limits field is out of range; see Limits.Validate.
	ErrLimits = errors.New("mpcheck: invalid limits")
)

// Error describes why Check rejected its input.
type Error struct {
	// Offset is the byte offset in the input of the value (or, for
	// ErrTrailing, of the first trailing byte; for input that ends early, of
	// the end of the input) where the problem was found.
	Offset int
	// Reason says what was wrong and where, without the "mpcheck: " prefix,
	// e.g. "array at offset 0 declares 4294967295 elements but 0 bytes
	// remain".
	Reason string
	// Err is one of ErrTruncated, ErrTooDeep, ErrTooLong, ErrTrailing or
	// ErrInvalid.
	Err error
}

// Error returns "mpcheck: " followed by the reason.
func (e *Error) Error() string { return "mpcheck: " + e.Reason }

// Unwrap returns the sentinel that classifies e.
func (e *Error) Unwrap() error { return e.Err }
