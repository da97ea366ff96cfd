package store

import (
	"os"
	"path/filepath"
	"testing"
)

// openClose opens dir, runs fn on the store and closes it.
func openClose(t *testing.T, dir string, fn func(s *Store)) {
	t.Helper()
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	fn(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRewoundFileTakesANewEpoch: a database file replaced by an older copy
// of itself keeps its data and takes a new epoch; the control, the same
// file reopened as it was left, keeps its epoch.
func TestRewoundFileTakesANewEpoch(t *testing.T) {
	dir := t.TempDir()
	db, saved := filepath.Join(dir, dbName), filepath.Join(t.TempDir(), "copy.db")
	var epoch uint64
	openClose(t, dir, func(s *Store) {
		epoch = s.Epoch()
		if err := set(s, Objects, "a", "1"); err != nil {
			t.Fatal(err)
		}
	})
	copyFile(t, db, saved)
	openClose(t, dir, func(s *Store) {
		if s.Rewound() || s.Epoch() != epoch {
			t.Fatalf("reopened as left: rewound=%v epoch %x, want %x kept", s.Rewound(), s.Epoch(), epoch)
		}
		if err := set(s, Objects, "a", "2"); err != nil {
			t.Fatal(err)
		}
	})
	copyFile(t, saved, db) // restore the old copy
	openClose(t, dir, func(s *Store) {
		if !s.Rewound() || s.Epoch() == epoch || s.Fresh() {
			t.Fatalf("restored copy: rewound=%v fresh=%v epoch %x; want rewound, not fresh, an epoch other than %x", s.Rewound(), s.Fresh(), s.Epoch(), epoch)
		}
		if got := mustGet(t, s, Objects, "a"); got != "1" {
			t.Fatalf("the restored copy's data: %q, want 1 (kept)", got)
		}
		epoch = s.Epoch()
	})
	openClose(t, dir, func(s *Store) {
		if s.Rewound() || s.Epoch() != epoch {
			t.Fatalf("after the new epoch: rewound=%v epoch %x, want %x", s.Rewound(), s.Epoch(), epoch)
		}
	})
}

// TestRewoundWithoutClose: a process killed without Close leaves the seen
// file at its last commit (written after every commit), so a copy older
// than that is still caught.
func TestRewoundWithoutClose(t *testing.T) {
	dir := t.TempDir()
	db, saved := filepath.Join(dir, dbName), filepath.Join(t.TempDir(), "copy.db")
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	epoch := s.Epoch()
	if err := set(s, Objects, "a", "1"); err != nil {
		t.Fatal(err)
	}
	copyFile(t, db, saved)
	if err := set(s, Objects, "a", "2"); err != nil {
		t.Fatal(err)
	}
	// As a kill -9 would: the commit loop stops, nothing is closed cleanly.
	seen := s.seen
	s.seen = nil
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := seen.close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, saved, db)
	openClose(t, dir, func(s *Store) {
		if !s.Rewound() || s.Epoch() == epoch {
			t.Fatalf("restored copy after a kill: rewound=%v epoch %x (was %x)", s.Rewound(), s.Epoch(), epoch)
		}
	})
}

// TestSeenFileDamaged: a seen file that does not decode proves nothing and
// is rewritten; the store keeps its epoch.
func TestSeenFileDamaged(t *testing.T) {
	dir := t.TempDir()
	var epoch uint64
	openClose(t, dir, func(s *Store) { epoch = s.Epoch() })
	if err := os.WriteFile(filepath.Join(dir, seenName), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	openClose(t, dir, func(s *Store) {
		if s.Rewound() || s.Epoch() != epoch {
			t.Fatalf("damaged seen file: rewound=%v epoch %x, want %x", s.Rewound(), s.Epoch(), epoch)
		}
	})
	b, err := os.ReadFile(filepath.Join(dir, seenName))
	if _, ok := decodeSeen(b); err != nil || !ok {
		t.Fatalf("the seen file was not rewritten: %v", err)
	}
}

// TestRestoredCopyOfAnotherEpoch: a copy taken under an earlier epoch and
// restored after the directory moved on to another (here: the same old
// copy restored a second time, after the first restore took a new epoch)
// is caught too.
func TestRestoredCopyOfAnotherEpoch(t *testing.T) {
	dir := t.TempDir()
	db, saved := filepath.Join(dir, dbName), filepath.Join(t.TempDir(), "copy.db")
	var first uint64
	openClose(t, dir, func(s *Store) {
		first = s.Epoch()
		if err := set(s, Objects, "a", "1"); err != nil {
			t.Fatal(err)
		}
	})
	copyFile(t, db, saved)
	openClose(t, dir, func(s *Store) {
		if err := set(s, Objects, "a", "2"); err != nil {
			t.Fatal(err)
		}
	})
	var second uint64
	copyFile(t, saved, db)
	openClose(t, dir, func(s *Store) {
		if !s.Rewound() {
			t.Fatal("first restore not caught")
		}
		second = s.Epoch()
		if err := set(s, Objects, "a", "3"); err != nil {
			t.Fatal(err)
		}
	})
	copyFile(t, saved, db) // the same old copy again: its epoch is first, the directory's second
	openClose(t, dir, func(s *Store) {
		if !s.Rewound() || s.Epoch() == first || s.Epoch() == second {
			t.Fatalf("second restore: rewound=%v epoch %x (first %x, second %x)", s.Rewound(), s.Epoch(), first, second)
		}
	})
}

// TestNewFileIsNoCopy: a data file deleted and created anew (fresh) beside
// an old seen file is not taken as a copy: it has a new epoch already.
func TestNewFileIsNoCopy(t *testing.T) {
	dir := t.TempDir()
	openClose(t, dir, func(s *Store) {})
	if err := os.Remove(filepath.Join(dir, dbName)); err != nil {
		t.Fatal(err)
	}
	openClose(t, dir, func(s *Store) {
		if !s.Fresh() || s.Rewound() {
			t.Fatalf("a new file: fresh=%v rewound=%v, want fresh only", s.Fresh(), s.Rewound())
		}
	})
}
