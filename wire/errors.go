package wire

import (
	"errors"
	"fmt"
)

// Code classifies an error answer so that callers can react without parsing
// messages. Append-only; 0 is invalid.
type Code uint16

const (
	CodeInvalid      Code = 0
	CodeBadRequest   Code = 1  // malformed frame or body, or a field out of range
	CodeTooLarge     Code = 2  // a key, value, context, object or frame over its limit
	CodeUnknownType  Code = 3  // a message type this node does not serve
	CodeForbidden    Code = 4  // the peer's certificate role may not make this call
	CodeShuttingDown Code = 5  // the node is stopping; try another replica
	CodeInternal     Code = 6  // a bug or unexpected state on the node
	CodeSiblingLimit Code = 7  // the write would leave more siblings than allowed
	CodeStorage      Code = 8  // local persistence failed (disk full, I/O error)
	CodeMismatch     Code = 9  // protocol version or cluster id differs
	CodeNoHello      Code = 10 // a request arrived before the connection's hello
	CodeHintRefused  Code = 11 // the node will not hold another hint for that owner (cap or window)
	CodeDotConflict  Code = 12 // an object holds a dot the node holds with different contents
	CodeBusy         Code = 13 // the node runs such a job already (a repair); ask again later
	codeUpperBound   Code = 14
)

var codeNames = [...]string{
	CodeBadRequest:   "bad request",
	CodeTooLarge:     "too large",
	CodeUnknownType:  "unknown message type",
	CodeForbidden:    "forbidden",
	CodeShuttingDown: "shutting down",
	CodeInternal:     "internal error",
	CodeSiblingLimit: "too many siblings",
	CodeStorage:      "storage failure",
	CodeMismatch:     "protocol or cluster mismatch",
	CodeNoHello:      "no hello",
	CodeHintRefused:  "hint refused",
	CodeDotConflict:  "dot conflict",
	CodeBusy:         "busy",
}

func (c Code) String() string {
	if c > CodeInvalid && c < codeUpperBound {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", uint16(c))
}

// Sentinels matched by errors.Is against a *RemoteError of the same code, and
// returned directly by local checks (frame reading, decoding).
var (
	ErrBadRequest   = errors.New("wire: bad request")
	ErrTooLarge     = errors.New("wire: too large")
	ErrUnknownType  = errors.New("wire: unknown message type")
	ErrForbidden    = errors.New("wire: forbidden")
	ErrShuttingDown = errors.New("wire: node shutting down")
	ErrSiblingLimit = errors.New("wire: too many siblings")
	ErrStorage      = errors.New("wire: storage failure")
	ErrMismatch     = errors.New("wire: protocol or cluster mismatch")
	ErrHintRefused  = errors.New("wire: hint refused")
	// ErrDotConflict: a replicated object holds a dot that the node already
	// holds with different contents. Only corruption or a forged relay makes
	// one; the node keeps what it has and logs it.
	ErrDotConflict = errors.New("wire: dot conflict")
	// ErrBusy: the node runs one such job at a time and one runs now (a
	// repair). Nothing was started; ask again once it is done.
	ErrBusy = errors.New("wire: busy")
)

var codeSentinels = map[Code]error{
	CodeBadRequest:   ErrBadRequest,
	CodeTooLarge:     ErrTooLarge,
	CodeUnknownType:  ErrUnknownType,
	CodeForbidden:    ErrForbidden,
	CodeShuttingDown: ErrShuttingDown,
	CodeSiblingLimit: ErrSiblingLimit,
	CodeStorage:      ErrStorage,
	CodeMismatch:     ErrMismatch,
	CodeHintRefused:  ErrHintRefused,
	CodeDotConflict:  ErrDotConflict,
	CodeBusy:         ErrBusy,
}

// RemoteError is an error answer received from a peer.
type RemoteError struct {
	Code    Code
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("remote %s: %s", e.Code, e.Message)
}

// Is matches the sentinel of the same code.
func (e *RemoteError) Is(target error) bool {
	s, ok := codeSentinels[e.Code]
	return ok && s == target
}

// Errorf builds the Error message a handler answers with.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf maps a local error to the code a server answers with: the code of
// the first wire sentinel it wraps, else CodeInternal.
func CodeOf(err error) Code {
	var re *RemoteError
	if errors.As(err, &re) {
		return re.Code
	}
	for c := CodeBadRequest; c < codeUpperBound; c++ {
		if s, ok := codeSentinels[c]; ok && errors.Is(err, s) {
			return c
		}
	}
	return CodeInternal
}
