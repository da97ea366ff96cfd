package memstore

import (
	"sync"
	"sync/atomic"

	"github.com/shoalkv/shoal/storaged/store"
)

// Store is an in-memory store.Engine on a Disk, with the contract of
// *store.Store: group commit through one goroutine, a nil error from a
// write only once its batch is synced (unless Options.NoSync), the same
// validation, errors and copying rules. It differs in what it models: a
// Disk.Crash ends it like a killed process, and Disk.FailCommits fails its
// commits. All methods are safe for concurrent use. A Store must be created
// with Disk.Open and released with Close or Disk.Crash.
type Store struct {
	d     *Disk
	opts  Options // with defaults applied
	epoch uint64
	fresh bool

	// mu orders enqueueing against Close: senders hold it for reading,
	// Close takes it to set closed and close queue.
	mu     sync.RWMutex
	closed bool
	queue  chan *request

	closing atomic.Bool // set at the start of Close, checked by readers
	// gone is closed when the Store lets go of its Disk: by Close once the
	// commit loop has answered every write, or by Crash at once.
	gone          chan struct{}
	loopDone      chan struct{}
	writebackDone chan struct{}
	wake          chan struct{} // a commit tells the writeback; capacity 1
	live          []*request    // the commit loop's scratch slice
	broken        atomic.Pointer[error]
	stats         counters
	corrupt       *store.Corruptions
	keys          store.Partitioning // how Objects keys are kept

	closeOnce sync.Once
}

var _ store.Engine = (*Store)(nil)

func newStore(d *Disk, opts Options, keys store.Partitioning, epoch uint64, fresh bool) *Store {
	return &Store{
		d:             d,
		keys:          keys,
		opts:          opts,
		epoch:         epoch,
		fresh:         fresh,
		queue:         make(chan *request, opts.MaxBatch),
		gone:          make(chan struct{}),
		loopDone:      make(chan struct{}),
		writebackDone: make(chan struct{}),
		wake:          make(chan struct{}, 1),
		corrupt:       store.NewCorruptions(opts.Logger),
	}
}

// start starts the Store's goroutines.
func (s *Store) start() {
	go s.run()
	if s.opts.NoSync {
		go s.writeback()
	} else {
		close(s.writebackDone)
	}
}

// join waits for the Store's goroutines to end.
func (s *Store) join() {
	<-s.loopDone
	<-s.writebackDone
}

// Epoch returns the Disk's epoch: nonzero, created by its first Open.
func (s *Store) Epoch() uint64 { return s.epoch }

// Fresh reports whether Open created the epoch: true for the first Store of
// a Disk, false for every later one.
func (s *Store) Fresh() bool { return s.fresh }

// Get returns a copy of the value of key in bucket b, which the caller owns,
// or an error matching store.ErrNotFound (a *store.CorruptError, which
// matches it, for a record whose checksum does not hold). It reads the
// latest committed state (possibly a batch whose sync is still in
// progress).
func (s *Store) Get(b store.Bucket, key []byte) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := store.ValidateKeyIn(b, key); err != nil {
		return nil, err
	}
	stored, err := s.keys.StoredKey(b, key)
	if err != nil {
		return nil, err
	}
	st, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	v, err := st.read(b, stored, key)
	if err != nil {
		return nil, s.corrupt.Note(err)
	}
	return own(v), nil
}

// ForEach calls fn for every key of bucket b in byte order (Objects by
// partition first, see store.View.Scan), on one consistent snapshot,
// skipping (and counting) corrupt records. key and value are valid only
// during fn and must not be modified. ForEach stops at, and returns, fn's
// first error.
func (s *Store) ForEach(b store.Bucket, fn func(key, value []byte) error) error {
	if err := b.Validate(); err != nil {
		return err
	}
	st, err := s.snapshot()
	if err != nil {
		return err
	}
	return s.keys.ForEach(b, st.walk(b), s.corrupt, fn)
}

// ScanPartition calls fn for the objects of partition p in key order, on
// one consistent snapshot, as store.View.ScanPartition does.
func (s *Store) ScanPartition(p int, from []byte, fn func(key, value []byte) bool) error {
	return s.View(func(v store.View) error { return v.ScanPartition(p, from, fn) })
}

// Count returns the number of keys in bucket b, corrupt records included,
// in constant time.
func (s *Store) Count(b store.Bucket) (int, error) {
	if err := b.Validate(); err != nil {
		return 0, err
	}
	st, err := s.snapshot()
	if err != nil {
		return 0, err
	}
	return st[b].len(), nil
}

// snapshot returns the committed state for a read, or why there is none.
func (s *Store) snapshot() (state, error) {
	if s.closing.Load() {
		return nil, errClosed
	}
	if s.crashed() {
		return nil, errCrashed
	}
	if err := s.brokenErr(); err != nil {
		return nil, err
	}
	st, ok := s.d.current(s)
	if !ok {
		return nil, errCrashed
	}
	return st, nil
}

// crashed reports whether the Store has let go of its Disk (after a Crash,
// or at the very end of Close).
func (s *Store) crashed() bool {
	select {
	case <-s.gone:
		return true
	default:
		return false
	}
}

// Close stops accepting writes (they return an error matching
// store.ErrClosed), lets the commit loop answer every write already queued,
// stops the Store's goroutines, syncs every committed batch (even one whose
// commit failed ambiguously, see Disk.FailCommits) and frees the Disk for
// the next Open. Later reads return ErrClosed. Close is idempotent and
// returns nil; after a Crash it only marks the Store closed. It must not be
// called from an Apply function.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
		<-s.loopDone
		s.d.release(s)
		s.join()
	})
	return nil
}

// brokenErr returns the error set by an ambiguous commit failure, or nil.
func (s *Store) brokenErr() error {
	if p := s.broken.Load(); p != nil {
		return *p
	}
	return nil
}

// own returns a copy of b, never nil, with no spare capacity.
func own(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }
