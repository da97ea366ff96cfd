package memstore

import "github.com/shoalkv/shoal/storaged/store"

// view is the Store's store.View: one committed state, which nothing
// changes.
type view struct {
	st      state
	keys    store.Partitioning
	corrupt *store.Corruptions
}

// View calls fn with one consistent snapshot of the Store (the latest
// committed state), which later writes do not change, and returns fn's
// error, or an error matching store.ErrClosed or store.ErrBroken like the
// other reads. Taking a snapshot costs O(1) and blocks no writer (unlike
// bbolt, whose commit waits for open snapshots when the file must grow), but
// fn must not call the Store's write methods or Close, as with *store.Store.
func (s *Store) View(fn func(v store.View) error) error {
	st, err := s.snapshot()
	if err != nil {
		return err
	}
	return fn(view{st: st, keys: s.keys, corrupt: s.corrupt})
}

// Get returns the value of key in bucket b, or an error matching
// store.ErrNotFound, store.ErrInvalidBucket or store.ErrInvalidKey (a
// *store.CorruptError, matching store.ErrNotFound, for a corrupt record).
// The value is valid only during the View function and must not be
// modified.
func (v view) Get(b store.Bucket, key []byte) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := store.ValidateKeyIn(b, key); err != nil {
		return nil, err
	}
	stored, err := v.keys.StoredKey(b, key)
	if err != nil {
		return nil, err
	}
	val, err := v.st.read(b, stored, key)
	return val, v.corrupt.Note(err)
}

// Scan is store.View.Scan: keys of bucket b in byte order (Objects by
// partition first) from from on, those starting with prefix only if it is
// non-empty, until fn returns false; corrupt records skipped and counted.
// Keys and values are valid only during the View function and must not be
// modified.
func (v view) Scan(b store.Bucket, from, prefix []byte, fn func(key, value []byte) bool) error {
	if err := b.Validate(); err != nil {
		return err
	}
	return v.keys.Scan(b, v.st.walk(b), v.corrupt, from, prefix, fn)
}

// ScanPartition is store.View.ScanPartition.
func (v view) ScanPartition(p int, from []byte, fn func(key, value []byte) bool) error {
	return v.keys.ScanPartition(v.st.walk(store.Objects), v.corrupt, p, from, fn)
}
