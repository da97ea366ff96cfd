package memstore

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/shoalkv/shoal/storaged/store"
)

// run is the commit loop, the only goroutine that writes to the Disk while
// the Store holds it. It ends when Close closes the queue and every queued
// write is answered, or when a Crash closes gone.
func (s *Store) run() {
	defer close(s.loopDone)
	batch := make([]*request, 0, s.opts.MaxBatch)
	for {
		select {
		case first, ok := <-s.queue:
			if !ok {
				return
			}
			batch = s.drain(append(batch, first))
		case <-s.gone:
			return
		}
		alive := s.commit(batch)
		clear(batch) // let answered requests be collected
		batch = batch[:0]
		if !alive {
			return
		}
	}
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

// commit applies the live requests of batch, in order, to a copy of the
// committed state, publishes it, syncs it (unless NoSync) and answers them
// all. It reports false if the Store crashed meanwhile: then it answers
// nobody (the callers learn of the crash from gone) and the Disk decides
// what survives.
func (s *Store) commit(batch []*request) bool {
	if err := s.brokenErr(); err != nil {
		s.answerAll(batch, err)
		return true
	}
	base, ok := s.d.current(s)
	if !ok {
		return false
	}
	st := base.clone()
	live := s.live[:0]
	for _, r := range batch {
		if !r.claim() {
			continue // its caller got ctx.Err()
		}
		r.err = s.apply(st, r)
		live = append(live, r)
	}
	defer func() { clear(live); s.live = live[:0] }()
	if len(live) == 0 {
		return true
	}
	f, ok := s.d.publish(s, st)
	switch {
	case !ok:
		return false
	case f == failRollback:
		s.rollBack(live)
		return true
	case f == failAmbiguous:
		s.failAmbiguously(live)
		return true
	}
	if s.opts.NoSync {
		s.wakeWriteback()
	} else if !s.sleep(s.opts.SyncLatency) || !s.d.sync(s, -1) {
		return false
	}
	s.stats.commits.Add(1)
	s.stats.writes.Add(uint64(len(live)))
	s.settle(live, true, nil)
	return true
}

// apply performs one request on st, the batch's private state, and returns
// its caller's error.
func (s *Store) apply(st state, r *request) error {
	t := st[r.bucket]
	if r.fn == nil && r.fnThen == nil {
		if r.ifValue {
			if old, err := st.read(r.bucket, r.stored, r.key); s.corrupt.Note(err) != nil || !bytes.Equal(old, r.want) {
				return nil // absent or corrupt: matches nothing
			}
		}
		st[r.bucket] = t.del(r.stored)
		r.deleted = r.ifValue
		if r.deleted {
			r.then = r.hook
		}
		return nil
	}
	old, err := st.read(r.bucket, r.stored, r.key)
	if errors.Is(s.corrupt.Note(err), store.ErrCorrupt) && r.refuseCorrupt {
		return fmt.Errorf("memstore: refusing to apply over a record that failed its checksum (RefuseCorrupt): %w", err)
	}
	var arg []byte // fn's private copy: a bug in fn cannot reach the snapshots
	if err == nil {
		arg = own(old)
	}
	v, then, err := s.call(r, arg)
	if r.panicked == nil && !bytes.Equal(arg, old) {
		// bbolt hands out read-only memory: the contract forbids this.
		r.panicked = fmt.Sprintf("memstore: the Apply function for key %q in bucket %s modified old", r.key, r.bucket)
		return nil
	}
	if err != nil || v == nil {
		return err
	}
	st.write(r.bucket, r.stored, r.key, v)
	r.then = then
	return nil
}

// call runs r.fn, turning a panic into r.panicked so that one caller's bug
// cannot take down the loop (and every other caller's write) with it.
func (s *Store) call(r *request, old []byte) (v []byte, then func(bool), err error) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("memstore: Apply function panicked; re-panicking in its caller",
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

// settle runs the then functions of a batch's live requests, in order,
// with its fate, and answers them; err, when set, replaces every answer
// (a failed commit, whatever fn returned). A then that panics is treated
// like a panicking Apply function.
func (s *Store) settle(live []*request, committed bool, err error) {
	for _, r := range live {
		if r.then != nil && r.panicked == nil {
			s.runThen(r, committed && r.err == nil)
		}
		if err != nil {
			r.err = err
		}
		r.finish()
	}
}

func (s *Store) runThen(r *request, committed bool) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("memstore: ApplyThen's then panicked; re-panicking in its caller",
				"bucket", r.bucket.String(), "panic", p, "stack", string(debug.Stack()))
			r.panicked = p
		}
	}()
	r.then(committed)
}

// rollBack answers the writers of a batch that FailCommits rolled back.
func (s *Store) rollBack(live []*request) {
	s.stats.failedCommits.Add(1)
	err := fmt.Errorf("memstore: %w: batch of %d writes rolled back: %w", store.ErrCommit, len(live), ErrInjected)
	s.opts.Logger.Error("memstore: commit failed; batch rolled back", "writes", len(live), "err", ErrInjected)
	s.settle(live, false, err)
}

// breakDown marks the Store broken by an ambiguous commit failure. The Disk
// calls it while publishing the batch.
func (s *Store) breakDown() {
	broken := fmt.Errorf("memstore: %w: a batch failed after becoming visible: %w", store.ErrBroken, ErrInjected)
	s.broken.Store(&broken)
}

// failAmbiguously answers the writers of a batch whose commit failed after
// it became visible.
func (s *Store) failAmbiguously(live []*request) {
	s.stats.failedCommits.Add(1)
	err := fmt.Errorf("memstore: %w: outcome of a batch of %d writes unknown: %w", store.ErrCommit, len(live), s.brokenErr())
	s.opts.Logger.Error("memstore: commit failed ambiguously; refusing all further calls", "writes", len(live), "err", ErrInjected)
	s.settle(live, false, err)
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

// sleep waits d, as a sync does, and reports false if the Store crashed
// meanwhile.
func (s *Store) sleep(d time.Duration) bool {
	if d <= 0 {
		return !s.crashed()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.gone:
		return false
	}
}
