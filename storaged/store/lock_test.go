package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestLockExcludesSecondOpen: flock belongs to the open file description,
// so a second Open in the same process is refused too, until Close.
func TestLockExcludesSecondOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{NoSync: true, Logger: quiet})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("ErrLocked does not name the holder (%s): %v", want, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, Options{NoSync: true})
	if s.Fresh() {
		t.Error("reopened store is fresh")
	}
}

// TestFailedOpenReleasesLock: an Open that fails after taking the lock
// releases it.
func TestFailedOpenReleasesLock(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(dir+"/"+dbName, 0o700); err != nil { // not a database
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{Logger: quiet}); err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("Open over a directory named %s: %v, want a database error", dbName, err)
	}
	l, err := lockDir(dir)
	if err != nil {
		t.Fatalf("lock after a failed Open: %v", err)
	}
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
}
