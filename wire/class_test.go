package wire

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// Each row states the decisions the driver and hint delivery took before
// ClassOf replaced their own classifiers: final (the driver's "a refusal
// another node would repeat"), mayHaveApplied (the driver's unknown
// outcome), recordRefused (hint delivery keeps the record for good).
func TestClassOf(t *testing.T) {
	boom := errors.New("boom")
	call := func(op string, err error) error { return &CallError{Addr: "n1:1", Op: op, Err: err} }
	remote := func(c Code) error { return &RemoteError{Code: c, Message: "m"} }
	for _, tc := range []struct {
		name                                 string
		err                                  error
		want                                 Class
		final, mayHaveApplied, recordRefused bool
	}{
		{"nil", nil, ClassNone, false, false, false},

		// Never sent.
		{"dial failed", call("dial", errors.New("refused")), ClassNotApplied, false, false, false},
		{"no stream", call("open", errors.New("closed")), ClassNotApplied, false, false, false},
		{"dial ended by the caller", call("dial", context.DeadlineExceeded), ClassNotApplied, false, false, false},
		{"hello answered storage failure", call("dial", remote(CodeStorage)), ClassNotApplied, false, false, false},

		// Sent and unsettled.
		{"read deadline", call("read", context.DeadlineExceeded), ClassMayHaveApplied, false, true, false},
		{"read cancelled", call("read", fmt.Errorf("%w (lane)", context.Canceled)), ClassMayHaveApplied, false, true, false},
		{"write broke", call("write", boom), ClassMayHaveApplied, false, true, false},
		{"decode of other garbage", call("decode", boom), ClassMayHaveApplied, false, true, false},
		{"bare deadline", context.DeadlineExceeded, ClassMayHaveApplied, false, true, false},
		{"wrapped cancellation", fmt.Errorf("x: %w", context.Canceled), ClassMayHaveApplied, false, true, false},
		{"storage answer", remote(CodeStorage), ClassMayHaveApplied, false, true, false},
		{"internal answer", remote(CodeInternal), ClassMayHaveApplied, false, true, false},

		// Answered refusals of the node's own.
		{"shutting down", remote(CodeShuttingDown), ClassNotApplied, false, false, false},
		{"hint refused", remote(CodeHintRefused), ClassNotApplied, false, false, false},
		{"unknown type", remote(CodeUnknownType), ClassNotApplied, false, false, false},
		{"no hello", remote(CodeNoHello), ClassNotApplied, false, false, false},
		{"busy", remote(CodeBusy), ClassNotApplied, false, false, false},
		{"unassigned code", remote(Code(200)), ClassNotApplied, false, false, false},
		{"not a wire error", boom, ClassNotApplied, false, false, false},
		{"local storage sentinel", fmt.Errorf("x: %w", ErrStorage), ClassNotApplied, false, false, false},

		// Refusals every node would repeat.
		{"sibling limit", remote(CodeSiblingLimit), ClassRecordRefused, true, false, true},
		{"forbidden", remote(CodeForbidden), ClassRefused, true, false, false},
		{"mismatch", remote(CodeMismatch), ClassRefused, true, false, false},
		{"hello mismatch", call("dial", remote(CodeMismatch)), ClassRefused, true, false, false},
		{"local limit", fmt.Errorf("x: %w", ErrTooLarge), ClassRefused, true, false, false},
		{"local bad request", fmt.Errorf("x: %w", ErrBadRequest), ClassRefused, true, false, false},
		{"garbled hello", call("dial", call("read", &FrameError{Reason: "r", Err: ErrBadRequest})), ClassRefused, true, false, false},

		// About the record itself.
		{"bad request answer", remote(CodeBadRequest), ClassRecordRefused, true, false, true},
		{"too large answer", remote(CodeTooLarge), ClassRecordRefused, true, false, true},
		{"wrapped too large answer", fmt.Errorf("deliver: %w", remote(CodeTooLarge)), ClassRecordRefused, true, false, true},
		{"dot conflict answer", remote(CodeDotConflict), ClassRecordRefused, true, false, true},
		{"hello answered bad request", call("dial", remote(CodeBadRequest)), ClassRecordRefused, true, false, true},
		// Call never wraps an answer in a sent CallError; were one to, the
		// answer is the node's word that it did not apply the request.
		{"answer inside a sent call error", call("read", remote(CodeTooLarge)), ClassRecordRefused, true, false, true},

		// Sent, and the answer failed the local checks.
		{"answer frame over the cap", call("read", &FrameError{Reason: "r", Err: ErrTooLarge}), ClassBadAnswer, true, true, false},
		{"answer of the wrong type", call("decode", fmt.Errorf("%w: answer is x", ErrBadRequest)), ClassBadAnswer, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ClassOf(tc.err)
			if c != tc.want {
				t.Errorf("ClassOf(%v) = %v, want %v", tc.err, c, tc.want)
			}
			if c.Final() != tc.final || c.MayHaveApplied() != tc.mayHaveApplied || (c == ClassRecordRefused) != tc.recordRefused {
				t.Errorf("%v: final %v, may have applied %v, record refused %v; want %v %v %v",
					c, c.Final(), c.MayHaveApplied(), c == ClassRecordRefused, tc.final, tc.mayHaveApplied, tc.recordRefused)
			}
		})
	}
}

// Every class has a name, and values beyond the table mean nothing.
func TestClassNames(t *testing.T) {
	seen := map[string]bool{}
	for c := ClassNone; c < classUpperBound; c++ {
		n := c.String()
		if n == "" || seen[n] {
			t.Errorf("class %d has name %q (empty or repeated)", c, n)
		}
		seen[n] = true
	}
	if c := classUpperBound; c.Final() || c.MayHaveApplied() || c.String() != fmt.Sprintf("class(%d)", uint8(c)) {
		t.Errorf("out of range class: final %v, may %v, %q", c.Final(), c.MayHaveApplied(), c.String())
	}
}
