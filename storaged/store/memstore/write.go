package memstore

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/shoalkv/shoal/storaged/store"
)

// Request states. A request moves from pending to exactly one of applied
// (the commit loop took it) or cancelled (its caller gave up first).
const (
	pending uint32 = iota
	applied
	cancelled
)

// request is one write travelling from its caller to the commit loop.
type request struct {
	bucket store.Bucket
	key    []byte                           // owned by the request
	stored []byte                           // key as kept (store.Partitioning.StoredKey)
	fn     func(old []byte) ([]byte, error) // nil for a delete
	// fnThen is ApplyThen's function (fn is nil then).
	fnThen func(old []byte) ([]byte, func(committed bool), error)
	// hook is CompareAndDeleteThen's, for a delete that matches.
	hook func(committed bool)
	// ifValue makes a delete conditional: only if the key holds exactly
	// want (CompareAndDelete).
	ifValue bool
	want    []byte // owned by the request
	// refuseCorrupt: fail rather than call fn over a corrupt record.
	refuseCorrupt bool
	state         atomic.Uint32

	// Written by the commit loop before done is closed.
	err      error
	deleted  bool                 // a conditional delete matched
	then     func(committed bool) // to run once the batch's fate is known
	panicked any                  // what fn panicked with, re-panicked in the caller
	done     chan struct{}
}

// Apply runs fn in the commit loop and returns once the outcome is durable,
// with the contract of (*store.Store).Apply: fn sees the current value of key
// in bucket b (a private copy, valid only during fn, that it must not modify
// or retain), or nil if the key is absent, and returns the new value (which
// the Store copies; it may be old or a slice of it), nil to leave the key
// unchanged, or an error. The read-modify-write is atomic with respect to all
// other writes. fn must not call the Store's write methods or Close.
//
// Apply returns nil once the batch is synced (under Options.NoSync: once it
// is committed); fn's error, unchanged, if fn failed (nothing is written for
// this call); an error matching store.ErrCommit if the batch failed to commit
// (Disk.FailCommits); ctx.Err() if ctx ended before the commit loop took the
// write (nothing is written); or an error matching store.ErrClosed after
// Close, or if a Disk.Crash ended the Store before the write was answered (it
// may or may not have survived). If fn panics, Apply panics with the same
// value in the caller's goroutine and the rest of the batch proceeds; if fn
// modified old, Apply panics too.
//
// A record whose checksum does not hold is absent to fn, counted and
// logged; with store.RefuseCorrupt, Apply fails with an error matching
// store.ErrCorrupt instead, without calling fn.
//
// The key must be 1 to b.MaxKey() bytes, and not reserved (store.ValidateWrite); Apply
// copies it.
func (s *Store) Apply(ctx context.Context, b store.Bucket, key []byte, fn func(old []byte) ([]byte, error), opts ...store.ApplyOption) error {
	if fn == nil {
		return errNilFunc
	}
	r, err := s.newRequest(ctx, b, key, fn)
	if err != nil {
		return err
	}
	r.refuseCorrupt = store.RefuseCorrupt.In(opts)
	return s.submit(ctx, r)
}

// Delete removes key from bucket b, group-committed like Apply, with the
// same return values. Deleting an absent key succeeds, and so does deleting
// a corrupt one.
func (s *Store) Delete(ctx context.Context, b store.Bucket, key []byte) error {
	return s.write(ctx, b, key, nil)
}

// ApplyThen is Apply whose function also returns then, which the commit
// goroutine calls once the batch's fate is known, with the contract of
// (*store.Store).ApplyThen: true once the batch is durable (visible, under
// NoSync), false if its commit failed (ambiguously too); only for a write
// that changed something; in batch order; before the writer is answered. A
// Crash runs no then: the process it belongs to is gone. A corrupt record
// and opts are treated as by Apply.
func (s *Store) ApplyThen(ctx context.Context, b store.Bucket, key []byte, fn func(old []byte) ([]byte, func(committed bool), error), opts ...store.ApplyOption) error {
	if fn == nil {
		return errors.New("memstore: ApplyThen with a nil function")
	}
	r, err := s.newRequest(ctx, b, key, nil)
	if err != nil {
		return err
	}
	r.fnThen, r.refuseCorrupt = fn, store.RefuseCorrupt.In(opts)
	return s.submit(ctx, r)
}

// CompareAndDeleteThen is CompareAndDelete that, when the delete matches,
// calls then as ApplyThen does.
func (s *Store) CompareAndDeleteThen(ctx context.Context, b store.Bucket, key, old []byte, then func(committed bool)) (bool, error) {
	r, err := s.newRequest(ctx, b, key, nil)
	if err != nil {
		return false, err
	}
	r.ifValue, r.want, r.hook = true, own(old), then
	if err := s.submit(ctx, r); err != nil {
		return false, err
	}
	return r.deleted, nil
}

// CompareAndDelete removes key from bucket b only if its value is still
// exactly old, byte for byte, and reports whether it did, atomically with
// respect to every other write. An absent key, and a corrupt one, match
// nothing. It is
// group-committed like Apply, with the same errors; true is reported only
// together with a nil error. It copies key and old.
func (s *Store) CompareAndDelete(ctx context.Context, b store.Bucket, key, old []byte) (bool, error) {
	r, err := s.newRequest(ctx, b, key, nil)
	if err != nil {
		return false, err
	}
	r.ifValue, r.want = true, own(old)
	if err := s.submit(ctx, r); err != nil {
		return false, err
	}
	return r.deleted, nil
}

func (s *Store) write(ctx context.Context, b store.Bucket, key []byte, fn func([]byte) ([]byte, error)) error {
	r, err := s.newRequest(ctx, b, key, fn)
	if err != nil {
		return err
	}
	return s.submit(ctx, r)
}

// newRequest validates a write and builds its request.
func (s *Store) newRequest(ctx context.Context, b store.Bucket, key []byte, fn func([]byte) ([]byte, error)) (*request, error) {
	if err := store.ValidateWrite(b, key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key = own(key)
	stored, err := s.keys.StoredKey(b, key)
	if err != nil {
		return nil, err
	}
	return &request{bucket: b, key: key, stored: stored, fn: fn, done: make(chan struct{})}, nil
}

// submit hands r to the commit loop and waits for its outcome.
func (s *Store) submit(ctx context.Context, r *request) error {
	if err := s.enqueue(ctx, r); err != nil {
		return err
	}
	return s.wait(ctx, r)
}

// enqueue hands r to the commit loop. The read lock keeps Close from closing
// the queue while r is being sent; the loop keeps draining it until Close,
// and a Crash closes gone, so a blocked send always ends.
func (s *Store) enqueue(ctx context.Context, r *request) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	if s.crashed() {
		return errCrashed
	}
	if err := s.brokenErr(); err != nil {
		return err
	}
	select {
	case s.queue <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.gone:
		return errCrashed
	}
}

// wait returns r's outcome; ctx.Err() if ctx ends before the commit loop
// took r; or errCrashed if the Store crashed before answering. (Close
// closes gone only after every queued write was answered.)
func (s *Store) wait(ctx context.Context, r *request) error {
	select {
	case <-r.done:
		return r.outcome()
	case <-s.gone:
	case <-ctx.Done():
		if r.state.CompareAndSwap(pending, cancelled) {
			return ctx.Err()
		}
		select { // applied: the outcome is on its way, unless a crash
		case <-r.done:
			return r.outcome()
		case <-s.gone:
		}
	}
	select {
	case <-r.done:
		return r.outcome()
	default:
		return errCrashed
	}
}

// outcome returns r's error, or re-panics fn's panic. r must be done.
func (r *request) outcome() error {
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

// claim marks r as taken by the commit loop. It fails if r's caller gave up.
func (r *request) claim() bool {
	return r.state.CompareAndSwap(pending, applied)
}

// finish publishes r's outcome to its caller.
func (r *request) finish() { close(r.done) }
