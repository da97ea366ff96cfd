package store

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// PrefixSize is how many bytes an Objects key gains on disk: its
	// partition, big endian, in front of it, so that one partition is one
	// contiguous range of the bucket (one range scan for a Merkle rebuild,
	// an exchange, handoff or tombstone collection).
	PrefixSize = 2

	// MaxPartitions is the most partitions a store lays its objects out
	// in: what PrefixSize bytes can name.
	MaxPartitions = 1 << (8 * PrefixSize)

	// MaxObjectKeySize is the longest key the Objects bucket accepts: the
	// partition prefix takes PrefixSize of bbolt's MaxKeySize.
	MaxObjectKeySize = MaxKeySize - PrefixSize
)

var (
	// ErrInvalidPartition is returned for a partition number outside
	// [0, Partitions), and for a key the Partition function places there.
	ErrInvalidPartition = errors.New("store: invalid partition")

	// ErrPartitions is returned by Open for a database whose objects are
	// laid out in a number of partitions other than the one it is opened
	// with. The file is left as it is: reading it with another layout would
	// find none of its objects.
	ErrPartitions = errors.New("store: partition count mismatch")
)

// partitionsKey is the Meta key holding the number of partitions the
// objects are laid out in (a uvarint).
var partitionsKey = []byte("partitions")

// PartitionsKey is the Meta key an Engine records its partition count under;
// writes to it are refused (ValidateWrite).
func PartitionsKey() []byte { return append([]byte(nil), partitionsKey...) }

// Partitioning is how an Engine lays out the Objects bucket: every key under
// a PrefixSize-byte big-endian prefix naming its partition. The zero value
// is one partition: every key under the prefix 0. It is immutable and safe
// for concurrent use.
type Partitioning struct {
	of func(key []byte) int // nil: every key in partition 0
	n  int                  // 0 means 1
}

// NewPartitioning returns the layout of n partitions, of returning the
// partition of a key (the ring's PartitionOf). of nil with n 0 is the zero
// Partitioning; otherwise of must be set and n in 1 to MaxPartitions.
func NewPartitioning(of func(key []byte) int, n int) (Partitioning, error) {
	switch {
	case of == nil && n == 0:
		return Partitioning{}, nil
	case of == nil:
		return Partitioning{}, fmt.Errorf("store: Partitions is %d without a Partition function (want both or neither)", n)
	case n < 1 || n > MaxPartitions:
		return Partitioning{}, fmt.Errorf("store: Partitions is %d, want 1 to %d with a Partition function", n, MaxPartitions)
	}
	return Partitioning{of: of, n: n}, nil
}

// Count returns the number of partitions, at least 1.
func (p Partitioning) Count() int { return max(p.n, 1) }

// Of returns the partition of an Objects key, or an error matching
// ErrInvalidPartition if the Partition function placed it out of range.
func (p Partitioning) Of(key []byte) (int, error) {
	if p.of == nil {
		return 0, nil
	}
	q := p.of(key)
	if q < 0 || q >= p.Count() {
		return 0, fmt.Errorf("%w: the Partition function put a %d-byte key in partition %d, want 0 to %d", ErrInvalidPartition, len(key), q, p.Count()-1)
	}
	return q, nil
}

// Check returns an error matching ErrInvalidPartition unless q is a
// partition: 0 to Count()-1.
func (p Partitioning) Check(q int) error {
	if q < 0 || q >= p.Count() {
		return fmt.Errorf("%w: %d, want 0 to %d", ErrInvalidPartition, q, p.Count()-1)
	}
	return nil
}

// StoredKey returns the key under which bucket b keeps key: for Objects its
// partition's prefix and then key (a new slice), for the other buckets key
// itself.
func (p Partitioning) StoredKey(b Bucket, key []byte) ([]byte, error) {
	if b != Objects {
		return key, nil
	}
	q, err := p.Of(key)
	if err != nil {
		return nil, err
	}
	return appendPrefixed(make([]byte, 0, PrefixSize+len(key)), q, key), nil
}

// appendPrefixed appends partition q's prefix and key to dst.
func appendPrefixed(dst []byte, q int, key []byte) []byte {
	return append(binary.BigEndian.AppendUint16(dst, uint16(q)), key...)
}

// prefixOf returns partition q's prefix.
func prefixOf(q int) []byte { return appendPrefixed(nil, q, nil) }
