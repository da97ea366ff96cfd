package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// boltView is the Store's View: a read transaction.
type boltView struct {
	tx      *bolt.Tx
	corrupt *Corruptions
}

// View calls fn with one consistent snapshot of the store, for reads that
// must agree with each other (a value and the records filed under its key in
// another bucket, say). It returns fn's error, or ErrClosed or ErrBroken like
// the other reads. It reads the latest committed state. fn must not call the
// Store's write methods or Close, for the reason given at ForEach, and
// should be quick: a long snapshot keeps the file from reusing pages.
func (s *Store) View(fn func(v View) error) error {
	return s.view(func(tx *bolt.Tx) error { return fn(boltView{tx: tx, corrupt: s.corrupt}) })
}

// Get returns the value of key in bucket b, or an error matching
// ErrNotFound, ErrInvalidBucket or ErrInvalidKey; a corrupt record is a
// *CorruptError, which matches ErrNotFound and ErrCorrupt. See View for how
// long the value is valid.
func (v boltView) Get(b Bucket, key []byte) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	val, err := lookup(v.tx.Bucket(b.name()), b, key)
	return val, v.corrupt.Note(err)
}

// Scan calls fn for the keys of bucket b in byte order, starting at the first
// key not before from (nil: the first key of the bucket), until fn returns
// false or the bucket ends. With a non-empty prefix only keys starting with
// it are visited: the scan starts at max(from, prefix) and ends at the first
// key past the prefix. Corrupt records are skipped (and counted, see
// Stats). See View for how long keys and values are valid.
func (v boltView) Scan(b Bucket, from, prefix []byte, fn func(key, value []byte) bool) error {
	if err := b.Validate(); err != nil {
		return err
	}
	c := v.tx.Bucket(b.name()).Cursor()
	if bytes.Compare(prefix, from) > 0 {
		from = prefix
	}
	var k, rec []byte
	if len(from) == 0 {
		k, rec = c.First()
	} else {
		k, rec = c.Seek(from)
	}
	for ; k != nil; k, rec = c.Next() {
		if len(prefix) > 0 && !bytes.HasPrefix(k, prefix) {
			return nil
		}
		val, err := OpenRecord(b, k, rec)
		if err != nil {
			v.corrupt.Note(err)
			continue
		}
		if !fn(k, val) {
			return nil
		}
	}
	return nil
}
