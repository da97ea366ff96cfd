package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Bucket names one of the store's key spaces.
type Bucket uint8

// The buckets of a store. The zero Bucket is invalid.
const (
	Objects Bucket = 1 // replicated objects (dotted version vector sets)
	Hints   Bucket = 2 // hinted handoff records for other nodes
	Meta    Bucket = 3 // node-local metadata; the key "epoch" is the store's own
)

// MaxKeySize is the longest key the store accepts: bbolt's limit.
const MaxKeySize = bolt.MaxKeySize

// buckets lists every valid bucket, in creation order.
var buckets = []Bucket{Objects, Hints, Meta}

// Buckets returns every bucket, in order.
func Buckets() []Bucket { return append([]Bucket(nil), buckets...) }

// String returns the bucket's name in the database file.
func (b Bucket) String() string {
	switch b {
	case Objects:
		return "objects"
	case Hints:
		return "hints"
	case Meta:
		return "meta"
	}
	return fmt.Sprintf("bucket(%d)", uint8(b))
}

// name is the bucket's name in a database file of the current format: its
// String with the format as a suffix ("objects.3"), so a file that holds
// records of an older format in buckets of the old names can be migrated
// bucket by bucket (migrate.go).
func (b Bucket) name() []byte { return b.nameIn(formatVersion) }

// nameIn is the bucket's name in a database file of format f: its String
// alone for format 1 (records without checksums), with ".f" from format 2 on.
func (b Bucket) nameIn(f int) []byte {
	if f == 1 {
		return []byte(b.String())
	}
	return fmt.Appendf(nil, "%s.%d", b, f)
}

// legacyName is the bucket's name in a database file of format 1: records
// without checksums.
func (b Bucket) legacyName() []byte { return b.nameIn(1) }

// MaxKey returns the longest key bucket b accepts: MaxObjectKeySize for
// Objects (its keys carry a partition prefix on disk), MaxKeySize for the
// others.
func (b Bucket) MaxKey() int {
	if b == Objects {
		return MaxObjectKeySize
	}
	return MaxKeySize
}

// Validate reports a bucket that is not one of Objects, Hints and Meta
// (ErrInvalidBucket).
func (b Bucket) Validate() error {
	switch b {
	case Objects, Hints, Meta:
		return nil
	}
	return fmt.Errorf("%w: %d", ErrInvalidBucket, uint8(b))
}

// ValidateKey checks that key has a length bbolt accepts in a bucket
// other than Objects (see ValidateKeyIn).
func ValidateKey(key []byte) error { return validateLen(key, MaxKeySize) }

// ValidateKeyIn checks that key has a length bucket b accepts: 1 to
// b.MaxKey() bytes.
func ValidateKeyIn(b Bucket, key []byte) error { return validateLen(key, b.MaxKey()) }

func validateLen(key []byte, limit int) error {
	if n := len(key); n == 0 || n > limit {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrInvalidKey, n, limit)
	}
	return nil
}

// ValidateWrite checks that key can be written in bucket b: a valid key that
// is not reserved by the store.
func ValidateWrite(b Bucket, key []byte) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if err := ValidateKeyIn(b, key); err != nil {
		return err
	}
	if b == Meta && bytes.Equal(key, epochKey) {
		return fmt.Errorf("%w: %q in bucket %s is reserved for the store's epoch", ErrInvalidKey, key, b)
	}
	if b == Meta && bytes.Equal(key, formatKey) {
		return fmt.Errorf("%w: %q in bucket %s is reserved for the store's format version", ErrInvalidKey, key, b)
	}
	if b == Meta && bytes.Equal(key, partitionsKey) {
		return fmt.Errorf("%w: %q in bucket %s is reserved for the store's partition count", ErrInvalidKey, key, b)
	}
	return nil
}

// lookup returns the verified value of key, stored as stored (see
// Partitioning.StoredKey), in bucket b (bk), an error matching ErrNotFound
// if it is absent, or a *CorruptError (which matches ErrNotFound too) if
// its record does not verify. An empty value is returned as a non-nil empty
// slice. The value points into the transaction's memory and is valid only
// while it is open.
func lookup(bk *bolt.Bucket, b Bucket, stored, key []byte) ([]byte, error) {
	k, rec := bk.Cursor().Seek(stored)
	if k == nil || !bytes.Equal(k, stored) {
		return nil, ErrNotFound
	}
	return OpenRecord(b, key, rec)
}

// cursorWalk is the Walk over bucket bk.
func cursorWalk(bk *bolt.Bucket) Walk {
	return func(from []byte, fn func(stored, rec []byte) bool) {
		c := bk.Cursor()
		var k, rec []byte
		if len(from) == 0 {
			k, rec = c.First()
		} else {
			k, rec = c.Seek(from)
		}
		for ; k != nil && fn(k, rec); k, rec = c.Next() {
		}
	}
}
