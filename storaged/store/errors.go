package store

import "errors"

var (
	// ErrLocked means another Store (in this or another process) holds the
	// data directory's lock.
	ErrLocked = errors.New("store: data directory is locked by another store")

	// ErrClosed is returned by every method of a Store after Close.
	ErrClosed = errors.New("store: closed")

	// ErrNotFound is returned by Get when the key is absent.
	ErrNotFound = errors.New("store: not found")

	// ErrInvalidKey is returned for a key that is empty, longer than
	// MaxKeySize, or reserved by the store itself.
	ErrInvalidKey = errors.New("store: invalid key")

	// ErrInvalidBucket is returned for a Bucket value other than Objects,
	// Hints and Meta.
	ErrInvalidBucket = errors.New("store: invalid bucket")

	// ErrCommit is matched by the error every writer of a batch gets when
	// the batch's transaction failed to commit. Unless the error also
	// matches ErrBroken, none of the batch's writes took effect.
	ErrCommit = errors.New("store: commit failed")

	// ErrBroken means a commit failed after its batch had become visible, so
	// what is on disk is unknown. The store refuses every later call; close
	// and reopen it.
	ErrBroken = errors.New("store: broken by an ambiguous commit failure, reopen required")
)
