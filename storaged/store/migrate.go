package store

import (
	"bytes"
	"fmt"
	"log/slog"

	bolt "go.etcd.io/bbolt"
)

// migrateBatch is how many records one migration transaction moves: small
// enough to bound a transaction's dirty pages, large enough that a big
// store migrates in few fsyncs. A variable for tests.
var migrateBatch = 4096

// A migration moves every record of the buckets of one format into the
// buckets of the next (format.go).
type migration struct {
	from, to int
	what     string // what the new format adds, for the log
	// move puts the record k, v of bucket b, as format from keeps it, into
	// cur, b's bucket of format to. k and v point into the transaction's
	// memory: what it puts must be copies.
	move func(cur *bolt.Bucket, b Bucket, k, v []byte) error
	// begin runs in every step's transaction once the new buckets exist.
	begin func(tx *bolt.Tx) error
}

// migrations returns the migrations of a file to the current format, in
// order, with objects laid out by keys.
func migrations(keys Partitioning) []migration {
	return []migration{
		{
			from: 1, to: 2, what: "record checksums",
			move: func(cur *bolt.Bucket, b Bucket, k, v []byte) error {
				return putRecord(cur, b, bytes.Clone(k), k, v)
			},
			begin: func(*bolt.Tx) error { return nil },
		},
		{
			from: 2, to: 3, what: "objects stored by partition",
			move: func(cur *bolt.Bucket, b Bucket, k, v []byte) error {
				stored, err := keys.StoredKey(b, k)
				if err != nil {
					return err
				}
				if len(stored) > MaxKeySize {
					return fmt.Errorf("%w: an object key of %d bytes is longer than format %d allows (%d)", ErrInvalidKey, len(k), 3, MaxObjectKeySize)
				}
				// The record moves as it is: its checksum covers the bucket
				// and the key without its prefix, so a damaged one stays
				// damaged and is still caught.
				return cur.Put(bytes.Clone(stored), bytes.Clone(v))
			},
			begin: func(tx *bolt.Tx) error { return ensurePartitions(tx, keys) },
		},
	}
}

// migrate brings a file of an older format to the current one, one
// migration after the other. Each transaction moves up to migrateBatch
// records of one bucket, putting each into the new bucket and deleting it
// from the old one together, and deletes the old bucket once it is empty:
// after a crash every record is in exactly one of the two, and the next
// Open carries on where this one stopped. A file of the current format
// passes through unchanged.
func migrate(db *bolt.DB, keys Partitioning, log *slog.Logger) error {
	for _, m := range migrations(keys) {
		moved := 0
		for _, b := range buckets {
			for {
				n, done, err := migrateStep(db, m, b, migrateBatch)
				if moved == 0 && n > 0 {
					log.Info("store: migrating the database", "from_format", m.from, "to_format", m.to, "adds", m.what)
				}
				moved += n
				if err != nil {
					return fmt.Errorf("store: migrate bucket %s from format %d to %d: %w", b, m.from, m.to, err)
				}
				if done {
					break
				}
			}
		}
		if moved > 0 {
			log.Info("store: migration done", "records", moved, "format", m.to)
		}
	}
	return nil
}

// migrateStep moves up to max records of bucket b from its bucket of
// format m.from into its bucket of format m.to, in one transaction, and
// reports how many it moved and whether the old bucket is gone.
func migrateStep(db *bolt.DB, m migration, b Bucket, max int) (moved int, done bool, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		old := tx.Bucket(b.nameIn(m.from))
		if old == nil {
			done = true
			return nil
		}
		// All three at once: checkLayout takes a file with some of them
		// for a damaged one.
		for _, nb := range buckets {
			if _, err := tx.CreateBucketIfNotExists(nb.nameIn(m.to)); err != nil {
				return err
			}
		}
		if err := m.begin(tx); err != nil {
			return err
		}
		cur := tx.Bucket(b.nameIn(m.to))
		var keys [][]byte
		c := old.Cursor()
		for k, v := c.First(); k != nil && len(keys) < max; k, v = c.Next() {
			if v == nil {
				return fmt.Errorf("key of %d bytes is a nested bucket, which format %d never held", len(k), m.from)
			}
			if err := m.move(cur, b, k, v); err != nil {
				return err
			}
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := old.Delete(k); err != nil {
				return err
			}
		}
		moved = len(keys)
		if k, _ := old.Cursor().First(); k == nil {
			done = true
			return tx.DeleteBucket(b.nameIn(m.from))
		}
		return nil
	})
	return moved, done, err
}
