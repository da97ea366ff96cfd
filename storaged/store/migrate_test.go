package store

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// legacyFile writes a format-1 database (bare values in buckets objects,
// hints, meta; the epoch under meta/epoch) into dir and returns what it
// holds.
func legacyFile(t *testing.T, dir string, n int, epoch uint64) written {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, dbName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := written{Objects: {}, Hints: {}, Meta: {}}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			bk, err := tx.CreateBucket(b.legacyName())
			if err != nil {
				return err
			}
			for i := range n {
				k, v := fmt.Sprintf("%s-%03d", b, i), fmt.Sprintf("value %d of %s", i, b)
				if i == 0 {
					v = "" // an empty value migrates too
				}
				if err := bk.Put([]byte(k), []byte(v)); err != nil {
					return err
				}
				w[b][k] = v
			}
		}
		return tx.Bucket(Meta.legacyName()).Put(epochKey, binary.BigEndian.AppendUint64(nil, epoch))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestMigrate: a format-1 file is migrated on Open, keeping every record
// and the epoch (the node is not fresh), and stopping after any number of
// migration transactions (a crash between two, or inside one, which then
// never committed) loses nothing: the next Open finishes the job. Stopping
// after 0 steps is the plain migration.
func TestMigrate(t *testing.T) {
	defer func(n int) { migrateBatch = n }(migrateBatch)
	migrateBatch = 3
	const n, epoch = 10, 0x5eed
	steps := 0 // a full migration's steps, counted by the k=-1 run
	for k := -1; k <= steps; k++ {
		t.Run(fmt.Sprintf("crash-after-%d", k), func(t *testing.T) {
			dir := t.TempDir()
			w := legacyFile(t, dir, n, epoch)
			if k >= 0 {
				partialMigration(t, dir, k)
			} else {
				steps = partialMigration(t, dir, 1<<30)
			}
			s := openT(t, dir, Options{NoSync: true})
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
				if want := len(w[b]) + map[Bucket]int{Meta: 2}[b]; len(got) != want {
					t.Errorf("%s holds %d keys, want %d", b, len(got), want)
				}
			}
			if st := s.Stats(); st.CorruptReads != 0 {
				t.Errorf("%d corrupt reads after migration", st.CorruptReads)
			}
			if err := s.View(func(v View) error {
				tx := v.(boltView).tx
				for _, b := range buckets {
					if tx.Bucket(b.legacyName()) != nil {
						t.Errorf("format-1 bucket %s left after migration", b)
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if steps < 2*len(buckets) {
		t.Errorf("a migration of %d records in batches of %d took %d steps; the crash cases did not cut it up", n*len(buckets), migrateBatch, steps)
	}
}

// partialMigration runs up to k migration steps on dir's file, the way
// migrate does, and returns how many it ran.
func partialMigration(t *testing.T, dir string, k int) int {
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
	for _, b := range buckets {
		for ran < k {
			_, done, err := migrateStep(db, b, migrateBatch)
			if err != nil {
				t.Fatal(err)
			}
			ran++
			if done {
				break
			}
		}
	}
	return ran
}
