package store

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// run is the commit loop, the only goroutine that writes to the database. It
// ends when Close closes the queue and every queued write is answered; Close
// waits for it via loopDone.
func (s *Store) run() {
	defer close(s.loopDone)
	batch := make([]*request, 0, s.opts.MaxBatch)
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	prev := 0 // requests in the previous batch
	var done time.Time
	for {
		first, ok := <-s.queue
		if !ok {
			return
		}
		if time.Since(done) > idleGroups*s.opts.GroupWait {
			prev = 0 // the loop sat idle: whoever wrote last is gone
		}
		batch = s.drain(append(batch, first))
		if s.wantsCompany(len(batch), prev) {
			batch = s.gather(batch, prev, wait)
		}
		prev = len(batch)
		s.commit(batch)
		done = time.Now()
		clear(batch) // let answered requests be collected
		batch = batch[:0]
	}
}

// wantsCompany reports whether a batch of n requests, following one of
// prev, should wait for more: the writers were concurrent a moment ago (prev
// reached groupMin) and most of them have not come back yet.
func (s *Store) wantsCompany(n, prev int) bool {
	return s.opts.GroupWait > 0 && prev >= groupMin && n < prev/2
}

// gather appends to batch the requests that arrive within GroupWait, until
// the batch is as large as the previous one (prev: the company is back, and
// then whatever else is queued joins too), or holds MaxBatch, or the queue
// closes. wait is the loop's stopped timer, reused.
func (s *Store) gather(batch []*request, prev int, wait *time.Timer) []*request {
	s.stats.groupWaits.Add(1)
	wait.Reset(s.opts.GroupWait)
	defer wait.Stop()
	for len(batch) < min(prev, s.opts.MaxBatch) {
		select {
		case r, ok := <-s.queue:
			if !ok {
				return batch // Close: commit what we hold, then stop
			}
			batch = append(batch, r)
		case <-wait.C:
			return batch
		}
	}
	return s.drain(batch) // and whoever came with the last of them
}

// drain appends to batch the requests already queued, without waiting, until
// the batch holds MaxBatch requests or the queue is empty.
func (s *Store) drain(batch []*request) []*request {
	for len(batch) < s.opts.MaxBatch {
		select {
		case r, ok := <-s.queue:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit applies the live requests of batch, in order, in one write
// transaction, commits it and answers them all.
func (s *Store) commit(batch []*request) {
	if err := s.brokenErr(); err != nil {
		s.answerAll(batch, err)
		return
	}
	tx, err := s.db.Begin(true)
	if err != nil {
		s.answerAll(batch, fmt.Errorf("%w: begin transaction: %w", ErrCommit, err))
		return
	}
	live := s.live[:0]
	for _, r := range batch {
		if !r.claim() {
			continue // its caller got ctx.Err()
		}
		r.err = s.apply(tx, r)
		live = append(live, r)
	}
	defer func() { clear(live); s.live = live[:0] }()
	if len(live) == 0 {
		_ = tx.Rollback()
		return
	}
	txID := tx.ID()
	if err := s.commitTx(tx); err != nil {
		s.fail(live, txID, err)
		return
	}
	s.noteCommit(uint64(txID))
	s.stats.commits.Add(1)
	s.stats.writes.Add(uint64(len(live)))
	s.settle(live, true)
}

// apply performs one request inside tx and returns its caller's error. An
// error here concerns this request only; tx stays good for the others (bbolt
// checks a Put before changing anything).
func (s *Store) apply(tx *bolt.Tx, r *request) error {
	bk := tx.Bucket(r.bucket.name())
	if r.fn == nil && r.fnThen == nil {
		if r.ifValue {
			if old, err := lookup(bk, r.bucket, r.stored, r.key); s.corrupt.Note(err) != nil || !bytes.Equal(old, r.want) {
				return nil // absent or corrupt: matches nothing
			}
		}
		if err := bk.Delete(r.stored); err != nil {
			return fmt.Errorf("store: delete from %s: %w", r.bucket, err)
		}
		r.deleted = r.ifValue
		if r.deleted {
			r.then = r.hook
		}
		return nil
	}
	old, err := lookup(bk, r.bucket, r.stored, r.key)
	if errors.Is(s.corrupt.Note(err), ErrCorrupt) && r.refuseCorrupt {
		return fmt.Errorf("store: refusing to apply over a record that failed its checksum (RefuseCorrupt): %w", err)
	}
	v, then, err := s.call(r, old) // old is nil if absent or corrupt
	if err != nil || v == nil {
		return err
	}
	r.then = then // told false if the put fails
	return putRecord(bk, r.bucket, r.stored, r.key, v)
}

// putRecord stores value as the record of key in bucket b (bk), under the
// stored key stored (Partitioning.StoredKey; bbolt keeps it until commit, so
// it must not change). bbolt keeps a reference to what it is given until
// commit, and value may alias the mmap or caller memory: the record is a
// private copy.
func putRecord(bk *bolt.Bucket, b Bucket, stored, key, value []byte) error {
	rec := AppendRecord(make([]byte, 0, RecordOverhead+len(value)), b, key, value)
	if err := bk.Put(stored, rec); err != nil {
		return fmt.Errorf("store: put into %s: %w", b, err)
	}
	return nil
}

// call runs r's function, turning a panic into r.panicked so that one
// caller's bug cannot take down the loop (and every other caller's write)
// with it.
func (s *Store) call(r *request, old []byte) (v []byte, then func(bool), err error) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("store: Apply function panicked; re-panicking in its caller",
				"bucket", r.bucket.String(), "panic", p, "stack", string(debug.Stack()))
			r.panicked = p
			v, then, err = nil, nil, nil
		}
	}()
	if r.fnThen != nil {
		return r.fnThen(old)
	}
	v, err = r.fn(old)
	return v, nil, err
}

// settle runs the then functions of the live requests of a batch, in
// order, with its fate, then answers them. A then that panics is treated
// like a panicking Apply function.
func (s *Store) settle(live []*request, committed bool) {
	for _, r := range live {
		if r.then != nil && r.panicked == nil {
			s.runThen(r, committed && r.err == nil)
		}
		r.finish()
	}
}

func (s *Store) runThen(r *request, committed bool) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("store: ApplyThen's then panicked; re-panicking in its caller",
				"bucket", r.bucket.String(), "panic", p, "stack", string(debug.Stack()))
			r.panicked = p
		}
	}()
	r.then(committed)
}

// fail answers every request of a batch whose commit failed with cause.
//
// bbolt rolls a failed commit back, and normally the previous state is all
// anyone can see. But if only the final fsync of the meta page failed, the
// new meta page is already in the page cache, so the batch is visible while
// nobody knows whether it reached the disk. Then the store is broken: it
// refuses everything rather than serve, and build on, writes that may vanish
// at the next restart.
func (s *Store) fail(live []*request, txID int, cause error) {
	s.stats.failedCommits.Add(1)
	var err error
	if s.visibleSince(txID) {
		broken := fmt.Errorf("%w: transaction %d failed after becoming visible: %w", ErrBroken, txID, cause)
		s.broken.Store(&broken)
		err = fmt.Errorf("%w: outcome of a batch of %d writes unknown: %w", ErrCommit, len(live), broken)
		s.opts.Logger.Error("store: commit failed ambiguously; refusing all further calls", "tx", txID, "writes", len(live), "err", cause)
	} else {
		err = fmt.Errorf("%w: batch of %d writes rolled back: %w", ErrCommit, len(live), cause)
		s.opts.Logger.Error("store: commit failed; batch rolled back", "tx", txID, "writes", len(live), "err", cause)
	}
	for _, r := range live {
		if r.then != nil && r.panicked == nil {
			s.runThen(r, false)
		}
		r.err = err // whatever fn returned (Apply's contract)
		r.finish()
	}
}

// visibleSince reports whether new readers see transaction txID or a later
// one, or the database cannot even be read (assume the worst).
func (s *Store) visibleSince(txID int) bool {
	rtx, err := s.db.Begin(false)
	if err != nil {
		return true
	}
	defer func() { _ = rtx.Rollback() }()
	return rtx.ID() >= txID
}

// answerAll fails every request of batch that its caller still waits for.
func (s *Store) answerAll(batch []*request, err error) {
	for _, r := range batch {
		if r.claim() {
			r.err = err
			r.finish()
		}
	}
}

// brokenErr returns the error set by an ambiguous commit failure, or nil.
func (s *Store) brokenErr() error {
	if p := s.broken.Load(); p != nil {
		return *p
	}
	return nil
}
