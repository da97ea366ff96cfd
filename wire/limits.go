package wire

import (
	"errors"
	"fmt"

	"github.com/shoalkv/shoal/wire/dvv"
)

// Limits bound what a client may store. The driver checks them at its API
// edge and every node checks them again, so a misconfigured or hostile client
// cannot push a node past them. The zero value means the defaults below.
type Limits struct {
	// MaxKey is the largest key in bytes (default 1 KiB; at most 32,766:
	// bbolt's key limit). Keys are 1 byte or longer.
	MaxKey int
	// MaxValue is the largest value in bytes (default 1 MiB: Dynamo's
	// objects are "usually less than 1 MB", paper §2.1).
	MaxValue int
	// MaxSiblings is how many concurrent values a key may hold before new
	// writes that do not resolve them are refused (default 64; a warning is
	// logged from a quarter of that).
	MaxSiblings int
	// MaxContext is the most version-vector entries a context may carry
	// (default 256: one per node that ever coordinated a write of the key).
	MaxContext int
	// MaxObject is the largest encoded object a write may produce (default
	// 8 MiB, under the frame cap).
	MaxObject int
}

// Default limits.
const (
	DefaultMaxKey      = 1 << 10
	DefaultMaxValue    = 1 << 20
	DefaultMaxSiblings = 64
	DefaultMaxContext  = 256
	DefaultMaxObject   = 8 << 20
	maxKeyCeiling      = 32<<10 - 2 // bbolt's key limit less the 2-byte partition prefix objects are stored under
)

// WithDefaults returns l with zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxKey == 0 {
		l.MaxKey = DefaultMaxKey
	}
	if l.MaxValue == 0 {
		l.MaxValue = DefaultMaxValue
	}
	if l.MaxSiblings == 0 {
		l.MaxSiblings = DefaultMaxSiblings
	}
	if l.MaxContext == 0 {
		l.MaxContext = DefaultMaxContext
	}
	if l.MaxObject == 0 {
		l.MaxObject = DefaultMaxObject
	}
	return l
}

// Validate reports every out-of-range limit.
func (l Limits) Validate() error {
	l = l.WithDefaults()
	var errs []error
	if l.MaxKey < 1 || l.MaxKey > maxKeyCeiling {
		errs = append(errs, fmt.Errorf("wire: max key %d outside 1..%d", l.MaxKey, maxKeyCeiling))
	}
	if l.MaxValue < 0 || l.MaxValue > MaxFrame/2 {
		errs = append(errs, fmt.Errorf("wire: max value %d outside 0..%d", l.MaxValue, MaxFrame/2))
	}
	if l.MaxSiblings < 1 || l.MaxSiblings > dvv.MaxDecodeSiblings {
		errs = append(errs, fmt.Errorf("wire: max siblings %d outside 1..%d", l.MaxSiblings, dvv.MaxDecodeSiblings))
	}
	if l.MaxContext < 1 || l.MaxContext > dvv.MaxDecodeEntries {
		errs = append(errs, fmt.Errorf("wire: max context %d outside 1..%d", l.MaxContext, dvv.MaxDecodeEntries))
	}
	if l.MaxObject < l.MaxValue || l.MaxObject > MaxFrame-(64<<10) {
		errs = append(errs, fmt.Errorf("wire: max object %d outside max value..%d", l.MaxObject, MaxFrame-(64<<10)))
	}
	return errors.Join(errs...)
}

// CheckKey refuses an empty or oversized key.
func (l Limits) CheckKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: empty key", ErrBadRequest)
	}
	if len(key) > l.MaxKey {
		return fmt.Errorf("%w: key is %d bytes, limit %d", ErrTooLarge, len(key), l.MaxKey)
	}
	return nil
}

// CheckValue refuses an oversized value.
func (l Limits) CheckValue(v []byte) error {
	if len(v) > l.MaxValue {
		return fmt.Errorf("%w: value is %d bytes, limit %d", ErrTooLarge, len(v), l.MaxValue)
	}
	return nil
}

// CheckContext refuses a context with too many entries or broken invariants.
func (l Limits) CheckContext(vv dvv.VV) error {
	if len(vv) > l.MaxContext {
		return fmt.Errorf("%w: context has %d entries, limit %d", ErrTooLarge, len(vv), l.MaxContext)
	}
	if err := vv.Validate(); err != nil {
		return fmt.Errorf("%w: context: %w", ErrBadRequest, err)
	}
	return nil
}

// CheckObject refuses an object a node should not accept from the network:
// broken invariants, a context over the limit, or a sibling value over the
// value limit. Sibling counts and the object's size are checked on what a
// write would store, not on what arrives (storaged/replica.Check): an
// incoming object whose extra siblings the node's copy already supersedes
// changes nothing and is accepted.
func (l Limits) CheckObject(s dvv.Set) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("%w: object: %w", ErrBadRequest, err)
	}
	if len(s.VV) > l.MaxContext {
		return fmt.Errorf("%w: object clock has %d entries, limit %d", ErrTooLarge, len(s.VV), l.MaxContext)
	}
	for _, sib := range s.Siblings {
		if err := l.CheckValue(sib.Value); err != nil {
			return err
		}
	}
	return nil
}
