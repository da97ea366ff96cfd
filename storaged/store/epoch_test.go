package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// reopen closes s and opens its directory again.
func reopen(t *testing.T, s *Store, dir string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return openT(t, dir, Options{NoSync: true})
}

func TestEpochPersists(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{NoSync: true})
	if !s.Fresh() || s.Epoch() == 0 {
		t.Fatalf("new store: Fresh %v, Epoch %d; want true and nonzero", s.Fresh(), s.Epoch())
	}
	epoch := s.Epoch()
	s = reopen(t, s, dir)
	if s.Fresh() || s.Epoch() != epoch {
		t.Fatalf("reopened store: Fresh %v, Epoch %d; want false and %d", s.Fresh(), s.Epoch(), epoch)
	}
	if got := mustGet(t, s, Meta, "epoch"); got != string(encodeEpoch(epoch)) {
		t.Fatalf("meta epoch = %x", got)
	}
}

func TestEpochNewDirectory(t *testing.T) {
	a := openT(t, t.TempDir(), Options{NoSync: true})
	b := openT(t, t.TempDir(), Options{NoSync: true})
	if !a.Fresh() || !b.Fresh() || a.Epoch() == b.Epoch() {
		t.Fatalf("two new directories: epochs %d (fresh %v) and %d (fresh %v)", a.Epoch(), a.Fresh(), b.Epoch(), b.Fresh())
	}
}

func TestEpochNewAfterDatabaseDeleted(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{NoSync: true})
	epoch := s.Epoch()
	if err := set(s, Objects, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, dbName)); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, Options{NoSync: true})
	if !s.Fresh() || s.Epoch() == epoch {
		t.Fatalf("after deleting the database: Fresh %v, Epoch %d (was %d)", s.Fresh(), s.Epoch(), epoch)
	}
	wantAbsent(t, s, Objects, "k")
}

// TestEpochNewWhenLost: a database that exists but has lost its epoch, or
// holds a malformed one, gets a new epoch.
func TestEpochNewWhenLost(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(*bolt.Bucket) error
	}{
		{"missing", func(b *bolt.Bucket) error { return b.Delete(epochKey) }},
		{"malformed", func(b *bolt.Bucket) error { return b.Put(epochKey, []byte{1, 2, 3}) }},
		{"zero", func(b *bolt.Bucket) error { return b.Put(epochKey, make([]byte, 8)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, Options{NoSync: true})
			epoch := s.Epoch()
			if err := set(s, Objects, "k", "v"); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := bolt.Open(filepath.Join(dir, dbName), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error { return tc.damage(tx.Bucket(Meta.name())) })
			if err := errors.Join(err, db.Close()); err != nil {
				t.Fatal(err)
			}
			s = openT(t, dir, Options{NoSync: true})
			if !s.Fresh() || s.Epoch() == epoch || s.Epoch() == 0 {
				t.Fatalf("Fresh %v, Epoch %d (was %d); want a new epoch", s.Fresh(), s.Epoch(), epoch)
			}
			epoch = s.Epoch()
			s = reopen(t, s, dir)
			if s.Fresh() || s.Epoch() != epoch {
				t.Fatalf("the replacement epoch did not persist: Fresh %v, Epoch %d, want %d", s.Fresh(), s.Epoch(), epoch)
			}
		})
	}
}
