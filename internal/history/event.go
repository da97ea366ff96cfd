// Package history records what a system test's clients did, and when, so a
// checker can judge the outcome without assuming linearizability: each
// operation is invoked, then completes exactly once as ok (it happened),
// fail (it definitely did not happen) or unknown (it may or may not have
// happened: a timeout, a lost connection). Faults injected meanwhile are
// recorded as notes. This is Jepsen's history model; CheckSet is its "set"
// workload checker.
//
// Only tests may import it.
package history

import "time"

// Type says what an Event records.
type Type string

// The event types. Invoke starts an operation; Ok, Fail or Unknown ends it.
const (
	Invoke  Type = "invoke"
	Ok      Type = "ok"
	Fail    Type = "fail"    // definite: the operation did not take effect
	Unknown Type = "unknown" // indeterminate: it may or may not have taken effect (Jepsen's "info")
	Note    Type = "note"    // free text, such as a fault starting or ending
)

// Event is one entry of a history.
type Event struct {
	// Index is the event's position in the history, from 0.
	Index int `json:"index"`
	// Time is when the event was recorded, on the monotonic clock, since
	// the recorder started. It never decreases with Index.
	Time time.Duration `json:"time_ns"`
	Type Type          `json:"type"`
	// Process is the logical client (or nemesis) that acted; a process runs
	// one operation at a time.
	Process int `json:"process"`
	// Op links an invocation to its completion: both carry the same Op,
	// from 1. Notes have 0.
	Op int `json:"op,omitempty"`
	// F, Key and Value describe the operation (as "add", key, element);
	// completions repeat the invocation's.
	F     string `json:"f,omitempty"`
	Key   string `json:"key,omitempty"`
	Value uint64 `json:"value"`
	// Covered is what a delete's invocation read before it wrote its
	// tombstone: the elements the tombstone supersedes (DeleteF).
	Covered []uint64 `json:"covered,omitempty"`
	// Err is the error text of a Fail or Unknown completion.
	Err string `json:"error,omitempty"`
	// Text is a Note's text.
	Text string `json:"text,omitempty"`
}
