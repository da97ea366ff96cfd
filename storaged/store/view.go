package store

import bolt "go.etcd.io/bbolt"

// boltView is the Store's View: a read transaction.
type boltView struct {
	tx      *bolt.Tx
	keys    Partitioning
	corrupt *Corruptions
}

// View calls fn with one consistent snapshot of the store, for reads that
// must agree with each other (a value and the records filed under its key in
// another bucket, say). It returns fn's error, or ErrClosed or ErrBroken like
// the other reads. It reads the latest committed state. fn must not call the
// Store's write methods or Close, for the reason given at ForEach, and
// should be quick: a long snapshot keeps the file from reusing pages.
func (s *Store) View(fn func(v View) error) error {
	return s.view(func(tx *bolt.Tx) error { return fn(boltView{tx: tx, keys: s.keys, corrupt: s.corrupt}) })
}

// Get returns the value of key in bucket b, or an error matching
// ErrNotFound, ErrInvalidBucket or ErrInvalidKey; a corrupt record is a
// *CorruptError, which matches ErrNotFound and ErrCorrupt. See View for how
// long the value is valid.
func (v boltView) Get(b Bucket, key []byte) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateKeyIn(b, key); err != nil {
		return nil, err
	}
	stored, err := v.keys.StoredKey(b, key)
	if err != nil {
		return nil, err
	}
	val, err := lookup(v.tx.Bucket(b.name()), b, stored, key)
	return val, v.corrupt.Note(err)
}

// Scan is View.Scan; corrupt records are skipped (and counted, see Stats).
// See View for how long keys and values are valid.
func (v boltView) Scan(b Bucket, from, prefix []byte, fn func(key, value []byte) bool) error {
	if err := b.Validate(); err != nil {
		return err
	}
	return v.keys.Scan(b, cursorWalk(v.tx.Bucket(b.name())), v.corrupt, from, prefix, fn)
}

// ScanPartition is View.ScanPartition.
func (v boltView) ScanPartition(p int, from []byte, fn func(key, value []byte) bool) error {
	return v.keys.ScanPartition(cursorWalk(v.tx.Bucket(Objects.name())), v.corrupt, p, from, fn)
}
