package mpcheck

import (
	"errors"
	"fmt"
)

// Defaults used for zero Limits fields. A shoal message body is a handful of
// fixed structs a few levels deep with lists of at most a few thousand items
// (siblings, version-vector entries, Merkle hashes), so these leave ample
// room while keeping a hostile frame cheap to reject.
const (
	// DefaultMaxDepth is the default nesting depth of arrays and maps.
	DefaultMaxDepth = 16
	// DefaultMaxLen is the default element count of one array, or entry
	// count of one map.
	DefaultMaxLen = 4096
)

// Limits bounds what Check accepts beyond well-formedness. The zero value
// means the defaults. Limits is a plain value, safe to share.
type Limits struct {
	// MaxDepth is how deeply arrays and maps may nest: a top-level scalar is
	// at depth 0, a top-level array at depth 1, an array inside it at depth
	// 2. Zero means DefaultMaxDepth.
	MaxDepth int
	// MaxLen is the most elements any one array, or entries (key/value
	// pairs) any one map, may declare. It does not bound str, bin or ext
	// lengths, which are bounded by the input length alone. Zero means
	// DefaultMaxLen.
	MaxLen int
}

// Validate reports every field out of range at once (errors.Join), each
// matching ErrLimits. Negative values are errors rather than "unlimited", so
// that a misconfiguration fails closed.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxDepth < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxDepth is %d, want >= 0", ErrLimits, l.MaxDepth))
	}
	if l.MaxLen < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxLen is %d, want >= 0", ErrLimits, l.MaxLen))
	}
	return errors.Join(errs...)
}

// depth returns MaxDepth with the default applied.
func (l Limits) depth() int {
	if l.MaxDepth == 0 {
		return DefaultMaxDepth
	}
	return l.MaxDepth
}

// length returns MaxLen with the default applied.
func (l Limits) length() int {
	if l.MaxLen == 0 {
		return DefaultMaxLen
	}
	return l.MaxLen
}
