package store

import (
	"errors"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// RawRecord returns the bytes the closed data directory dir keeps for key in
// bucket b (the record: AppendRecord's frame around the value) and whether
// the key exists, reading the database file directly; keys is the layout
// the directory's store is opened with (the zero value for a store opened
// without Options.Partition). It takes the directory's lock (ErrLocked
// while a Store has it open). It is meant for tests and forensics; it
// neither checks nor migrates the file.
func RawRecord(dir string, keys Partitioning, b Bucket, key []byte) (rec []byte, ok bool, err error) {
	err = rawTx(dir, keys, b, key, false, func(bk *bolt.Bucket, stored []byte) error {
		if v := bk.Get(stored); v != nil {
			rec, ok = append([]byte{}, v...), true
		}
		return nil
	})
	return rec, ok, err
}

// SetRawRecord makes rec the bytes the closed data directory dir keeps for
// key in bucket b, bypassing the record's checksum, as a damaged disk
// would; a nil rec deletes the key. It takes the directory's lock and the
// layout like RawRecord, and is meant for tests (fault injection).
func SetRawRecord(dir string, keys Partitioning, b Bucket, key, rec []byte) error {
	return rawTx(dir, keys, b, key, true, func(bk *bolt.Bucket, stored []byte) error {
		if rec == nil {
			return bk.Delete(stored)
		}
		return bk.Put(stored, append([]byte{}, rec...))
	})
}

// rawTx runs fn on bucket b of the database in the closed directory dir,
// with key as stored there.
func rawTx(dir string, keys Partitioning, b Bucket, key []byte, write bool, fn func(bk *bolt.Bucket, stored []byte) error) (err error) {
	if err := b.Validate(); err != nil {
		return err
	}
	stored, err := keys.StoredKey(b, key)
	if err != nil {
		return err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, lock.release()) }()
	db, err := bolt.Open(filepath.Join(dir, dbName), 0o600, &bolt.Options{Timeout: openTimeout, ReadOnly: !write})
	if err != nil {
		return fmt.Errorf("store: open %s: %w", dir, err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	run := func(tx *bolt.Tx) error {
		bk := tx.Bucket(b.name())
		if bk == nil {
			return fmt.Errorf("store: %s has no bucket %s of format %d", dir, b, formatVersion)
		}
		return fn(bk, stored)
	}
	if write {
		return db.Update(run)
	}
	return db.View(run)
}
