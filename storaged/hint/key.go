package hint

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Bounds of the key layout.
const (
	// MaxKey is the longest object key the layout can carry: its length is
	// a 2-byte prefix. (The store's own key limit is lower still once the
	// owner id is added; callers check the stored key's length too.)
	MaxKey = math.MaxUint16
	// MaxOwner is the longest owner id: ring.MaxIDLen.
	MaxOwner = 255
	// lenSize is the size of the key length prefix.
	lenSize = 2
)

// Key returns the stored key of the hint for key meant for owner, in a new
// slice the caller owns: len(key) as 2 bytes big endian, key, owner. key
// must be 1 to MaxKey bytes and owner 1 to MaxOwner bytes of valid UTF-8;
// otherwise Key returns an error wrapping ErrInvalid.
func Key(key []byte, owner ring.NodeID) ([]byte, error) {
	if err := checkKey(len(key)); err != nil {
		return nil, err
	}
	if err := checkOwner(owner); err != nil {
		return nil, err
	}
	out := make([]byte, 0, lenSize+len(key)+len(owner))
	out = binary.BigEndian.AppendUint16(out, uint16(len(key)))
	out = append(out, key...)
	return append(out, owner...), nil
}

// Prefix returns the prefix shared by the stored keys of every hint for key,
// and by no other stored key, in a new slice the caller owns. key must be 1
// to MaxKey bytes (ErrInvalid otherwise).
func Prefix(key []byte) ([]byte, error) {
	if err := checkKey(len(key)); err != nil {
		return nil, err
	}
	out := make([]byte, 0, lenSize+len(key))
	out = binary.BigEndian.AppendUint16(out, uint16(len(key)))
	return append(out, key...), nil
}

// ParseKey splits a stored hint key into the object key and the owner. It
// checks every bound before slicing: the length prefix must be present and
// nonzero, the key must fit in what follows it, and what remains must be a
// valid owner (1 to MaxOwner bytes of UTF-8). Errors wrap ErrMalformed. The
// returned key aliases stored; owner is a copy.
func ParseKey(stored []byte) (key []byte, owner ring.NodeID, err error) {
	if len(stored) < lenSize {
		return nil, "", fmt.Errorf("%w: key of %d bytes has no length prefix", ErrMalformed, len(stored))
	}
	n := int(binary.BigEndian.Uint16(stored))
	rest := stored[lenSize:]
	switch {
	case n == 0:
		return nil, "", fmt.Errorf("%w: key length prefix is zero", ErrMalformed)
	case n >= len(rest):
		return nil, "", fmt.Errorf("%w: key length %d leaves no owner in %d bytes", ErrMalformed, n, len(rest))
	}
	o := rest[n:]
	if len(o) > MaxOwner || !utf8.Valid(o) {
		return nil, "", fmt.Errorf("%w: owner of %d bytes is not 1 to %d bytes of utf-8", ErrMalformed, len(o), MaxOwner)
	}
	return rest[:n:n], ring.NodeID(o), nil
}

func checkKey(n int) error {
	if n < 1 || n > MaxKey {
		return fmt.Errorf("%w: key of %d bytes, want 1 to %d", ErrInvalid, n, MaxKey)
	}
	return nil
}

func checkOwner(owner ring.NodeID) error {
	if len(owner) < 1 || len(owner) > MaxOwner || !utf8.ValidString(string(owner)) {
		return fmt.Errorf("%w: owner of %d bytes, want 1 to %d bytes of utf-8", ErrInvalid, len(owner), MaxOwner)
	}
	return nil
}
