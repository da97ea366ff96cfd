package store

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// oldFile writes a database of format 1 (bare values in buckets objects,
// hints, meta; the epoch under meta/epoch) or 2 (records in buckets
// objects.2, hints.2, meta.2; the epoch and the format in meta.2) into dir
// and returns what it holds.
func oldFile(t *testing.T, dir string, format, n int, epoch uint64) written {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, dbName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	put := func(bk *bolt.Bucket, b Bucket, k, v []byte) error {
		if format == 1 {
			return bk.Put(k, v)
		}
		return putRecord(bk, b, k, k, v)
	}
	w := written{Objects: {}, Hints: {}, Meta: {}}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			bk, err := tx.CreateBucket(b.nameIn(format))
			if err != nil {
				return err
			}
			for i := range n {
				k, v := fmt.Sprintf("%s-%03d", b, i), fmt.Sprintf("value %d of %s", i, b)
				if i == 0 {
					v = "" // an empty value migrates too
				}
				if err := put(bk, b, []byte(k), []byte(v)); err != nil {
					return err
				}
				w[b][k] = v
			}
		}
		meta := tx.Bucket(Meta.nameIn(format))
		if format > 1 {
			if err := put(meta, Meta, formatKey, binary.AppendUvarint(nil, uint64(format))); err != nil {
				return err
			}
		}
		return put(meta, Meta, epochKey, binary.BigEndian.AppendUint64(nil, epoch))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

// testPartition is the layout the migration tests migrate to.
func testPartition(key []byte) int { return int(key[len(key)-1]) % 4 }

// TestMigrate: a file of format 1 (through 2) or 2 is migrated to format 3
// on Open, keeping every record and the epoch (the node is not fresh), each
// object in its partition; and stopping after any number of migration
// transactions (a crash between two, or inside one, which then never
// committed) loses nothing: the next Open finishes the job. Stopping after
// 0 steps is the plain migration.
func TestMigrate(t *testing.T) {
	defer func(n int) { migrateBatch = n }(migrateBatch)
	migrateBatch = 3
	const n, epoch = 10, 0x5eed
	keys, err := NewPartitioning(testPartition, 4)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{NoSync: true, Partition: testPartition, Partitions: 4}
	for _, format := range []int{1, 2} {
		steps := 0 // a full migration's steps, counted by the k=-1 run
		for k := -1; k <= steps; k++ {
			t.Run(fmt.Sprintf("format-%d/crash-after-%d", format, k), func(t *testing.T) {
				dir := t.TempDir()
				w := oldFile(t, dir, format, n, epoch)
				if k >= 0 {
					partialMigration(t, dir, keys, k)
				} else {
					steps = partialMigration(t, dir, keys, 1<<30)
				}
				s := openT(t, dir, opts)
				checkMigrated(t, s, w, epoch)
			})
		}
		if min := (format - 1) * 2 * len(buckets); steps < min {
			t.Errorf("a migration from format %d of %d records in batches of %d took %d steps; the crash cases did not cut it up", format, n*len(buckets), migrateBatch, steps)
		}
	}
}

// checkMigrated fails the test unless s holds what w says, the epoch, the
// format and partition count, every object in its partition and no bucket
// of an older format.
func checkMigrated(t *testing.T, s *Store, w written, epoch uint64) {
	t.Helper()
	if s.Epoch() != epoch || s.Fresh() {
		t.Errorf("epoch %x, fresh %v; want %x kept", s.Epoch(), s.Fresh(), epoch)
	}
	for _, b := range buckets {
		got := map[string]string{}
		if err := s.ForEach(b, func(k, v []byte) error { got[string(k)] = string(v); return nil }); err != nil {
			t.Fatal(err)
		}
		for k, v := range w[b] {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s %q = %q, %v after migration; want %q", b, k, g, ok, v)
			}
		}
		if want := len(w[b]) + map[Bucket]int{Meta: 3}[b]; len(got) != want {
			t.Errorf("%s holds %d keys, want %d", b, len(got), want)
		}
	}
	for q := range s.keys.Count() {
		if err := s.ScanPartition(q, nil, func(k, _ []byte) bool {
			if p, _ := s.keys.Of(k); p != q {
				t.Errorf("object %q in partition %d, belongs to %d", k, q, p)
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
	}
	if v := mustGet(t, s, Meta, string(formatKey)); v != string(binary.AppendUvarint(nil, formatVersion)) {
		t.Errorf("format %x after migration, want %d", v, formatVersion)
	}
	if st := s.Stats(); st.CorruptReads != 0 {
		t.Errorf("%d corrupt reads after migration", st.CorruptReads)
	}
	if err := s.View(func(v View) error {
		tx := v.(boltView).tx
		for f := 1; f < formatVersion; f++ {
			for _, b := range buckets {
				if tx.Bucket(b.nameIn(f)) != nil {
					t.Errorf("format-%d bucket %s left after migration", f, b)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// partialMigration runs up to k migration steps on dir's file, the way
// migrate does, and returns how many it ran.
func partialMigration(t *testing.T, dir string, keys Partitioning, k int) int {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, dbName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	ran := 0
	for _, m := range migrations(keys) {
		for _, b := range buckets {
			for ran < k {
				_, done, err := migrateStep(db, m, b, migrateBatch)
				if err != nil {
					t.Fatal(err)
				}
				ran++
				if done {
					break
				}
			}
		}
	}
	return ran
}
