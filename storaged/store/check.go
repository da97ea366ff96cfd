package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// damageError says that a database file is damaged: it failed preflight or
// bbolt's check, bbolt refused it as invalid, or bbolt panicked or faulted
// on it. Only such an error moves the file aside (quarantine); others (a
// permission, a lock held elsewhere, a full disk) are returned as they are,
// since the file may be fine.
type damageError struct {
	err error
}

func (e *damageError) Error() string { return "damaged database file: " + e.err.Error() }
func (e *damageError) Unwrap() error { return e.err }

func damaged(err error) error {
	if err == nil {
		return nil
	}
	var d *damageError
	if errors.As(err, &d) {
		return err
	}
	return &damageError{err: err}
}

// checkedOpen opens the bbolt file at path after preflight, and runs bbolt's
// full check (tx.Check: every page, key order, free and reachable pages),
// on the calling goroutine with faults turned into panics and every panic
// into a damageError, so no damage to the file can end the process.
func checkedOpen(path string, opts *bolt.Options) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			// bbolt's handles on the file may leak here: the file is moved
			// aside and never opened again by this process.
			db, err = nil, &damageError{err: fmt.Errorf("bbolt panicked: %v", p)}
		}
	}()
	if err := preflightPath(path); err != nil {
		return nil, err
	}
	db, err = bolt.Open(path, 0o600, opts)
	if err != nil {
		if boltDamage(err) {
			return nil, damaged(err)
		}
		return nil, err
	}
	if err := db.View(checkTx); err != nil {
		_ = db.Close()
		return nil, damaged(err)
	}
	if err := db.View(checkLayout); err != nil {
		_ = db.Close()
		return nil, damaged(err)
	}
	return db, nil
}

// checkLayout checks the file's top-level buckets: only this store's (of
// any format up to the current one), and all three of the newest format
// present. A damaged bucket name would otherwise pass for a missing bucket:
// objects lost while the epoch survives, so the node would reuse its
// counters. (A migration creates the three of the next format at once and
// deletes the older ones one by one, so only the newest must be whole.)
func checkLayout(tx *bolt.Tx) error {
	format := map[string]int{}
	for f := 1; f <= formatVersion; f++ {
		for _, b := range buckets {
			format[string(b.nameIn(f))] = f
		}
	}
	count := make([]int, formatVersion+1) // buckets present, by format
	err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		f, ok := format[string(name)]
		if !ok {
			return fmt.Errorf("unknown bucket %q", name)
		}
		count[f]++
		return nil
	})
	if err != nil {
		return err
	}
	for f := formatVersion; f >= 2; f-- {
		if count[f] > 0 && count[f] < len(buckets) {
			return fmt.Errorf("%d of the %d buckets of format %d", count[f], len(buckets), f)
		}
		if count[f] > 0 {
			return nil
		}
	}
	return nil
}

// preflightPath runs preflight on the file at path, if it exists.
func preflightPath(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	err = preflight(f)
	var re *readError
	if errors.As(err, &re) {
		return err
	}
	return damaged(err)
}

// maxCheckErrors is how many of tx.Check's findings an error reports.
const maxCheckErrors = 5

// checkTx runs bbolt's consistency check and joins what it found.
func checkTx(tx *bolt.Tx) error {
	var found []string
	n := 0
	for err := range tx.Check() {
		if n++; n <= maxCheckErrors {
			found = append(found, err.Error())
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("consistency check found %d problems: %s", n, strings.Join(found, "; "))
}

// boltDamage reports whether an error of bolt.Open says the file is not a
// usable database (rather than that it could not be opened at all).
func boltDamage(err error) bool {
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) {
		return true
	}
	return strings.Contains(err.Error(), "file size too small")
}

// quarantineSuffix starts the name a damaged file is moved to, followed by
// the time (UTC).
const quarantineSuffix = ".corrupt-"

// quarantine moves the damaged file at path aside, to
// path.corrupt-<UTC time>, durably (the directory is synced), and returns
// where it went. The file is kept for forensics; nothing removes it.
func quarantine(path string, now time.Time) (string, error) {
	to := path + quarantineSuffix + now.UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(path, to); err != nil {
		return "", fmt.Errorf("store: move damaged database aside: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return "", fmt.Errorf("store: move damaged database aside: %w", err)
	}
	return to, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
