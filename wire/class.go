package wire

import (
	"context"
	"errors"
	"fmt"
)

// Class is what a failed call says about its request's fate: whether the
// node may have acted on it, and whether any other node would refuse it
// too. ClassOf computes it and the classes table states what each class
// means, so that everyone who reacts to a failed call (the driver's
// coordination, hint delivery) decides from one classification.
//
// The zero value, ClassNone, is the class of no error.
type Class uint8

const (
	// ClassNone is the class of a nil error: the call succeeded.
	ClassNone Class = iota
	// ClassNotApplied: the node did not act on the request, and another
	// node may accept it. The request was never sent (no connection could
	// be dialed, no stream opened), or the node answered a refusal of its
	// own (shutting down, no room for another hint, a message type or
	// hello it does not expect), or the error is none of the wire's.
	ClassNotApplied
	// ClassMayHaveApplied: the request was sent and its fate is unknown.
	// No answer came (the connection broke, the deadline passed, the call
	// was cancelled), or the node answered that its storage or its own
	// code failed, which may have left the write behind.
	ClassMayHaveApplied
	// ClassRefused: refused in a way every node would repeat: a sibling
	// limit found by a local check, a certificate role that may not make the call, a protocol
	// or cluster mismatch (answered, or found by a local check against the
	// same rules, or during the connection's hello). The caller's to fix;
	// not applied.
	ClassRefused
	// ClassRecordRefused: the node answered that the request itself is
	// malformed or over a limit (bad request, too large, too many
	// siblings), or that it conflicts with what the node holds under the
	// same dot. Final as
	// ClassRefused is, and for good for that record: hint delivery keeps
	// it rather than retrying, and goes on with the owner's other records.
	ClassRecordRefused
	// ClassBadAnswer: the request was sent, and what came back failed this
	// side's checks as malformed or over a limit (a frame over the cap, a
	// body that does not decode, an answer of the wrong type). Final as
	// ClassRefused is, yet the node may have applied the request.
	ClassBadAnswer
	classUpperBound
)

// classes is the one table of what each class means for a caller.
var classes = [classUpperBound]struct {
	name string
	// final: the request is refused in a way another node would repeat,
	// so trying it elsewhere is pointless.
	final bool
	// mayHaveApplied: the node may hold the write (a write that fails
	// after it is not a plain refusal but an unknown outcome).
	mayHaveApplied bool
}{
	ClassNone:           {name: "none"},
	ClassNotApplied:     {name: "not applied"},
	ClassMayHaveApplied: {name: "may have applied", mayHaveApplied: true},
	ClassRefused:        {name: "refused", final: true},
	ClassRecordRefused:  {name: "record refused", final: true},
	ClassBadAnswer:      {name: "bad answer", final: true, mayHaveApplied: true},
}

// Final reports a refusal that another node would repeat: the request
// must not be retried elsewhere, and the caller has to change it.
func (c Class) Final() bool { return c < classUpperBound && classes[c].final }

// MayHaveApplied reports a request the node may have acted on: it was sent
// and no answer settled it. A request that could not be sent, or that an
// answer refused, did not happen.
func (c Class) MayHaveApplied() bool { return c < classUpperBound && classes[c].mayHaveApplied }

func (c Class) String() string {
	if c < classUpperBound {
		return classes[c].name
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// finalSentinels are the refusals another node would repeat, wherever they
// appear in an error's chain: answered (a *RemoteError matches the
// sentinel of its code), found locally, or wrapped by a transport failure.
var finalSentinels = [...]error{ErrBadRequest, ErrTooLarge, ErrSiblingLimit, ErrForbidden, ErrMismatch, ErrDotConflict}

// recordCode reports the answers about a request's record itself.
func recordCode(c Code) bool {
	switch c {
	case CodeBadRequest, CodeTooLarge, CodeSiblingLimit, CodeDotConflict:
		return true
	}
	return false
}

// ClassOf classifies an error a call returned. The rules, in order:
//
//   - An error answer about the request itself (the first *RemoteError in
//     the chain has CodeBadRequest, CodeTooLarge, CodeSiblingLimit or
//     CodeDotConflict) is ClassRecordRefused:
//     the node's word that it did not apply it.
//   - Otherwise whether it was sent and not settled: a *CallError (the
//     first in the chain) was sent unless its Op is "dial" or "open"; an
//     answer (*RemoteError) only with CodeStorage or CodeInternal; an error
//     that is neither, when it is the context's (deadline, cancellation).
//   - Any other final sentinel in the chain (bad request, too large,
//     sibling limit, forbidden, mismatch, dot conflict) makes it ClassBadAnswer when it
//     was sent, ClassRefused when not.
//   - What is left is ClassMayHaveApplied when sent, else ClassNotApplied.
func ClassOf(err error) Class {
	if err == nil {
		return ClassNone
	}
	var re *RemoteError
	answered := errors.As(err, &re)
	if answered && recordCode(re.Code) {
		return ClassRecordRefused
	}
	var sent bool
	var ce *CallError
	switch {
	case errors.As(err, &ce):
		sent = ce.Op != "dial" && ce.Op != "open"
	case answered:
		sent = re.Code == CodeStorage || re.Code == CodeInternal
	default:
		sent = errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	}
	final := false
	for _, s := range finalSentinels {
		if errors.Is(err, s) {
			final = true
			break
		}
	}
	switch {
	case final && sent:
		return ClassBadAnswer
	case final:
		return ClassRefused
	case sent:
		return ClassMayHaveApplied
	}
	return ClassNotApplied
}
