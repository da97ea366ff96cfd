package store

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
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
	bucket Bucket
	key    []byte                           // owned by the request
	stored []byte                           // key as stored (Partitioning.StoredKey)
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

// Apply runs fn inside the commit loop's write transaction and returns once
// the outcome is durable.
//
// fn sees old, the current value of key in bucket b, or nil if the key is
// absent; old is valid only during fn, must not be modified, and must not be
// retained. fn returns the new value (the store copies it; fn may return old
// itself or a slice of it), nil to leave the key unchanged, or an error.
// Because every write of the store runs in one goroutine, one after another,
// the read-modify-write is atomic with respect to all other writes. fn must
// not call the Store's write methods or Close (it would deadlock), and should
// be quick: the whole batch waits for it.
//
// Apply returns nil once the batch carrying the write committed (with fsync,
// unless Options.NoSync); fn's error, unchanged, if fn failed (nothing is
// written for this call, other writes of the batch are unaffected); an error
// matching ErrCommit if the batch failed to commit, whatever fn returned; or
// ctx.Err() if ctx ended before the write was applied. Once applied, Apply
// waits for the commit regardless of ctx, so a nil error always means
// durable and ctx.Err() always means not written. If fn panics, Apply panics
// with the same value in the caller's goroutine and the rest of the batch
// proceeds.
//
// A record whose checksum does not hold is absent to fn (old is nil), so
// what fn returns replaces it: a merge heals the key that way. It is counted
// and logged (Stats.CorruptReads). With the option RefuseCorrupt, Apply
// instead fails with an error matching ErrCorrupt without calling fn.
//
// The key must be 1 to MaxKeySize bytes; Apply copies it. Apply is safe for
// concurrent use.
func (s *Store) Apply(ctx context.Context, b Bucket, key []byte, fn func(old []byte) ([]byte, error), opts ...ApplyOption) error {
	if fn == nil {
		return errors.New("store: Apply with a nil function")
	}
	r, err := s.newRequest(ctx, b, key, fn)
	if err != nil {
		return err
	}
	r.refuseCorrupt = RefuseCorrupt.In(opts)
	return s.submit(ctx, r)
}

// Delete removes key from bucket b, group-committed like Apply, with the
// same return values. Deleting an absent key succeeds, and so does deleting
// a corrupt one (its record goes). Delete is safe for concurrent use.
func (s *Store) Delete(ctx context.Context, b Bucket, key []byte) error {
	return s.write(ctx, b, key, nil)
}

// ApplyThen is Apply whose function also returns then, a function the
// commit loop calls once the batch carrying the write has committed
// (true) or failed to (false; an ambiguous failure counts as failed),
// before the writer is answered. It is called only for a write whose fn
// returned a value and no error (with false, too, if that value could not
// be stored), in the order of the batch's writes, on the commit loop's goroutine: so every then, and
// every fn, of a store runs on one goroutine, one after another, which
// lets the caller keep state derived from the writes (a ledger) with no
// protocol between goroutines. then must be quick and must not call the
// Store. then may be nil. A corrupt record and opts are treated as by Apply.
func (s *Store) ApplyThen(ctx context.Context, b Bucket, key []byte, fn func(old []byte) ([]byte, func(committed bool), error), opts ...ApplyOption) error {
	if fn == nil {
		return errors.New("store: ApplyThen with a nil function")
	}
	r, err := s.newRequest(ctx, b, key, nil)
	if err != nil {
		return err
	}
	r.fnThen, r.refuseCorrupt = fn, RefuseCorrupt.In(opts)
	return s.submit(ctx, r)
}

// CompareAndDeleteThen is CompareAndDelete that, when the delete matches,
// calls then as ApplyThen does.
func (s *Store) CompareAndDeleteThen(ctx context.Context, b Bucket, key, old []byte, then func(committed bool)) (bool, error) {
	r, err := s.newRequest(ctx, b, key, nil)
	if err != nil {
		return false, err
	}
	r.ifValue, r.want, r.hook = true, bytes.Clone(old), then
	if err := s.submit(ctx, r); err != nil {
		return false, err
	}
	return r.deleted, nil
}

// CompareAndDelete removes key from bucket b only if its value is still
// exactly old, byte for byte, and reports whether it did. The comparison and
// the delete happen inside the commit loop, atomically with respect to every
// other write: a caller that read a value, acted on it, and must not lose a
// concurrent change to it deletes with the value it read. An absent key, and
// a corrupt one, match nothing. It is group-committed like Apply, with the same errors;
// true is reported only together with a nil error (the delete is durable).
// CompareAndDelete copies key and old, and is safe for concurrent use.
func (s *Store) CompareAndDelete(ctx context.Context, b Bucket, key, old []byte) (bool, error) {
	r, err := s.newRequest(ctx, b, key, nil)
	if err != nil {
		return false, err
	}
	r.ifValue, r.want = true, bytes.Clone(old)
	if err := s.submit(ctx, r); err != nil {
		return false, err
	}
	return r.deleted, nil
}

func (s *Store) write(ctx context.Context, b Bucket, key []byte, fn func([]byte) ([]byte, error)) error {
	r, err := s.newRequest(ctx, b, key, fn)
	if err != nil {
		return err
	}
	return s.submit(ctx, r)
}

// ApplyOption adjusts one Apply or ApplyThen call.
type ApplyOption uint8

// RefuseCorrupt makes Apply (or ApplyThen) fail with an error matching
// ErrCorrupt, without calling its function, when the key's record fails its
// checksum, instead of presenting it as absent. It is for a write whose
// result depends on what the record held in a way a merge does not restore:
// a coordinator assigning the next dot of its own actor must not start over
// from an empty object, or it may reissue a dot it already gave to another
// value (until per-key epochs exist).
const RefuseCorrupt ApplyOption = 1

// In reports whether opts include o. Engines use it to read their options.
func (o ApplyOption) In(opts []ApplyOption) bool {
	for _, p := range opts {
		if p&o != 0 {
			return true
		}
	}
	return false
}

// newRequest validates a write and builds its request.
func (s *Store) newRequest(ctx context.Context, b Bucket, key []byte, fn func([]byte) ([]byte, error)) (*request, error) {
	if err := ValidateWrite(b, key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key = bytes.Clone(key)
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
	return r.wait(ctx)
}

// enqueue hands r to the commit loop. The read lock keeps Close from closing
// the queue while r is being sent; the loop keeps draining, so a blocked send
// always ends.
func (s *Store) enqueue(ctx context.Context, r *request) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.brokenErr(); err != nil {
		return err
	}
	select {
	case s.queue <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait returns r's outcome, or ctx.Err() if ctx ends before the commit loop
// took r.
func (r *request) wait(ctx context.Context) error {
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(pending, cancelled) {
			return ctx.Err()
		}
		<-r.done // applied: the outcome is on its way
	}
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
