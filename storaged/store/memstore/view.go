package memstore

import (
	"bytes"

	"github.com/shoalkv/shoal/storaged/store"
)

// view is the Store's store.View: one committed state, which nothing
// changes.
type view struct {
	st      state
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
	return fn(view{st: st, corrupt: s.corrupt})
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
	if err := store.ValidateKey(key); err != nil {
		return nil, err
	}
	val, err := v.st.read(b, key)
	return val, v.corrupt.Note(err)
}

// Scan calls fn for the keys of bucket b in byte order, starting at the first
// key not before from (nil: the first key of the bucket), until fn returns
// false or the bucket ends. With a non-empty prefix only keys starting with
// it are visited: the scan starts at max(from, prefix) and ends at the first
// key past the prefix. Corrupt records are skipped (and counted). An empty
// value is passed as a non-nil empty slice.
// Keys and values are valid only during the View function and must not be
// modified.
func (v view) Scan(b store.Bucket, from, prefix []byte, fn func(key, value []byte) bool) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if bytes.Compare(prefix, from) > 0 {
		from = prefix
	}
	v.st[b].ascend(from, func(k, rec []byte) bool {
		if len(prefix) > 0 && !bytes.HasPrefix(k, prefix) {
			return false
		}
		val, err := store.OpenRecord(b, k, rec)
		if err != nil {
			v.corrupt.Note(err)
			return true
		}
		return fn(k, val)
	})
	return nil
}
