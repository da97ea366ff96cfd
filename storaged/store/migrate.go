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

// migrate moves every record of a format-1 file (format.go) into the
// buckets of the current format, adding checksums. Each transaction moves
// up to migrateBatch records of one bucket, putting each into the new
// bucket and deleting it from the old one together, and deletes the old
// bucket once it is empty: after a crash every record is in exactly one of
// the two, and the next Open carries on where this one stopped. A file of
// the current format passes through unchanged.
func migrate(db *bolt.DB, log *slog.Logger) error {
	moved := 0
	for _, b := range buckets {
		for {
			n, done, err := migrateStep(db, b, migrateBatch)
			if moved == 0 && n > 0 {
				log.Info("store: migrating the database to format with record checksums", "format", formatVersion)
			}
			moved += n
			if err != nil {
				return fmt.Errorf("store: migrate bucket %s to format %d: %w", b, formatVersion, err)
			}
			if done {
				break
			}
		}
	}
	if moved > 0 {
		log.Info("store: migration done", "records", moved, "format", formatVersion)
	}
	return nil
}

// migrateStep moves up to max records of bucket b from its format-1 bucket
// into its current one, in one transaction, and reports how many it moved
// and whether the old bucket is gone.
func migrateStep(db *bolt.DB, b Bucket, max int) (moved int, done bool, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		old := tx.Bucket(b.legacyName())
		if old == nil {
			done = true
			return nil
		}
		// All three at once: checkLayout takes a file with some of them
		// for a damaged one.
		for _, nb := range buckets {
			if _, err := tx.CreateBucketIfNotExists(nb.name()); err != nil {
				return err
			}
		}
		cur := tx.Bucket(b.name())
		var keys [][]byte
		c := old.Cursor()
		for k, v := c.First(); k != nil && len(keys) < max; k, v = c.Next() {
			if v == nil {
				return fmt.Errorf("key of %d bytes is a nested bucket, which format 1 never held", len(k))
			}
			if err := putRecord(cur, b, k, v); err != nil {
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
			return tx.DeleteBucket(b.legacyName())
		}
		return nil
	})
	return moved, done, err
}
