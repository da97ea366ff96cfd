package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// dbName is the database file inside a data directory.
const dbName = "shoal.db"

// openTimeout bounds how long Open waits for bbolt's own flock on the
// database file. The directory lock is taken first, so the wait only happens
// if a foreign process holds the file; Open then fails instead of hanging.
const openTimeout = time.Second

// Store is a durable local byte store with group commit; see the package
// documentation. All methods are safe for concurrent use. A Store must be
// created with Open and released with Close.
type Store struct {
	opts  Options // with defaults applied
	dir   string
	lock  *dirLock
	db    *bolt.DB
	epoch uint64
	fresh bool
	// quarantined is where Open moved a damaged file, or "".
	quarantined string
	corrupt     *Corruptions
	keys        Partitioning // how Objects keys are stored
	// seen is the seen file (seen.go); rewound says Open found the
	// database older than it and took a new epoch.
	seen       *seenFile
	seenFailed bool // a write of seen failed (logged once)
	rewound    bool

	// mu orders enqueueing against Close: senders hold it for reading,
	// Close takes it to set closed and close queue.
	mu     sync.RWMutex
	closed bool
	queue  chan *request

	closing  atomic.Bool // set at the start of Close, checked by readers
	loopDone chan struct{}
	live     []*request // the commit loop's scratch slice
	broken   atomic.Pointer[error]
	stats    counters

	// commitTx commits a write transaction: (*bolt.Tx).Commit, replaced in
	// tests to inject failures.
	commitTx func(*bolt.Tx) error

	closeOnce sync.Once
	closeErr  error
}

// Open opens the store in dir, creating dir (mode 0700) and the database
// (dir/shoal.db, mode 0600) if needed. It takes an exclusive lock on
// dir/LOCK without waiting and returns an error matching ErrLocked if
// another Store, in this process or another, holds it.
//
// Before serving anything it checks the whole file: its page structure
// (preflight.go) and bbolt's consistency check, every page: about 55 ms for
// 100,000 objects (a 50 MB file) on the 2-core VM of docs/BENCHMARKS.md,
// BenchmarkOpenCheck. A file that fails
// (or that bbolt panics or faults on) is never served and never crashes the
// process: Open moves it aside to dir/shoal.db.corrupt-<UTC time>, keeps it
// there, logs why and where, and starts an empty database under a new
// epoch; Quarantined reports the path. A file of an older format (records
// without checksums) is migrated, crash-safely (migrate.go).
//
// It then creates the buckets and loads the epoch, or creates and durably
// records a new one (then Fresh reports true). On success the Store owns one
// goroutine, the commit loop, which Close stops.
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := open(dir, lock, opts)
	if err != nil {
		return nil, errors.Join(err, lock.release())
	}
	go s.run()
	return s, nil
}

// open opens and prepares the database of a locked directory, moving a
// damaged file aside.
func open(dir string, lock *dirLock, opts Options) (*Store, error) {
	path := filepath.Join(dir, dbName)
	s, err := openFile(dir, lock, opts)
	var d *damageError
	if !errors.As(err, &d) {
		return s, err
	}
	to, qerr := quarantine(path, time.Now())
	if qerr != nil {
		return nil, errors.Join(fmt.Errorf("store: open %s: %w", path, err), qerr)
	}
	opts.Logger.Error("store: the database file is damaged; moved it aside and starting empty under a new epoch",
		"file", path, "moved_to", to, "err", d.err)
	if s, err = openFile(dir, lock, opts); err != nil {
		return nil, err
	}
	s.quarantined = to
	return s, nil
}

// openFile opens, checks, migrates and prepares dir's database file. An
// error matching *damageError means the file is damaged.
func openFile(dir string, lock *dirLock, opts Options) (*Store, error) {
	path := filepath.Join(dir, dbName)
	db, err := checkedOpen(path, &bolt.Options{Timeout: openTimeout, NoSync: opts.NoSync})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	keys, err := NewPartitioning(opts.Partition, opts.Partitions)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	found, err := lastTx(db) // before Open's own transactions (seen.go)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store: read the last transaction: %w", err), db.Close())
	}
	s := &Store{
		keys:     keys,
		opts:     opts,
		dir:      dir,
		lock:     lock,
		db:       db,
		corrupt:  NewCorruptions(opts.Logger),
		queue:    make(chan *request, opts.MaxBatch),
		loopDone: make(chan struct{}),
		commitTx: (*bolt.Tx).Commit,
	}
	if err := migrate(db, keys, opts.Logger); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if err := s.prepare(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if err := s.checkRewound(found); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

// prepare creates the buckets and loads or creates the epoch, durably even
// under NoSync: a new epoch must never be forgotten once handed out.
func (s *Store) prepare() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b.name()); err != nil {
				return fmt.Errorf("store: create bucket %s: %w", b, err)
			}
		}
		if err := ensureFormat(tx, s.opts.Logger); err != nil {
			return err
		}
		if err := ensurePartitions(tx, s.keys); err != nil {
			return err
		}
		var err error
		s.epoch, s.fresh, err = ensureEpoch(tx, s.opts.Rand, s.opts.Logger)
		return err
	})
	if err != nil {
		return err
	}
	if s.opts.NoSync {
		if err := s.db.Sync(); err != nil {
			return fmt.Errorf("store: sync: %w", err)
		}
	}
	if s.fresh {
		s.opts.Logger.Info("store: new epoch", "dir", s.dir, "epoch", s.epoch)
	}
	return nil
}

// Epoch returns the data directory's epoch: nonzero, fixed for the life of
// the directory's database, new whenever the database was created or had
// lost it.
func (s *Store) Epoch() uint64 { return s.epoch }

// Fresh reports whether Open created the epoch, that is, whether this node
// starts from a new, wiped, replaced or damaged data directory.
func (s *Store) Fresh() bool { return s.fresh }

// Quarantined returns where Open moved the data directory's damaged
// database file, or "" if it opened the file it found (or created one).
// When it is set, Fresh is true.
func (s *Store) Quarantined() string { return s.quarantined }

// Get returns a copy of the value of key in bucket b, which the caller owns,
// or an error matching ErrNotFound. It reads the latest committed state
// (possibly a batch whose fsync is still in progress). A record whose
// checksum does not hold is never returned: Get returns a *CorruptError,
// which matches ErrNotFound and ErrCorrupt, and counts and logs it.
func (s *Store) Get(b Bucket, key []byte) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateKeyIn(b, key); err != nil {
		return nil, err
	}
	stored, err := s.keys.StoredKey(b, key)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = s.view(func(tx *bolt.Tx) error {
		v, err := lookup(tx.Bucket(b.name()), b, stored, key)
		if err != nil {
			return s.corrupt.Note(err)
		}
		out = append(make([]byte, 0, len(v)), v...)
		return nil
	})
	return out, err
}

// ForEach calls fn for every key of bucket b in byte order (for Objects:
// by partition, then in byte order, see View.Scan), on one consistent
// snapshot, skipping (and counting) corrupt records. key and value are
// valid only during fn and must not be modified. ForEach stops at, and
// returns, fn's first error. fn must not call the Store's write methods or
// Close: the snapshot can block a commit that has to grow the file, which
// would deadlock.
func (s *Store) ForEach(b Bucket, fn func(key, value []byte) error) error {
	if err := b.Validate(); err != nil {
		return err
	}
	return s.view(func(tx *bolt.Tx) error {
		return s.keys.ForEach(b, cursorWalk(tx.Bucket(b.name())), s.corrupt, fn)
	})
}

// ScanPartition calls fn for the objects of partition p in key order, on
// one consistent snapshot, as View.ScanPartition does; the same rules as
// for ForEach hold for fn.
func (s *Store) ScanPartition(p int, from []byte, fn func(key, value []byte) bool) error {
	return s.View(func(v View) error { return v.ScanPartition(p, from, fn) })
}

// Count returns the number of keys in bucket b, corrupt records included
// (it does not read values). It walks the bucket, so it costs O(keys).
func (s *Store) Count(b Bucket) (int, error) {
	if err := b.Validate(); err != nil {
		return 0, err
	}
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(b.name()).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// view runs fn in a read transaction, mapping a closed database to
// ErrClosed. Close waits for running read transactions.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	if s.closing.Load() {
		return ErrClosed
	}
	if err := s.brokenErr(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Close stops accepting writes (they return ErrClosed), lets the commit loop
// finish and answer every write already queued, stops it, closes the
// database and releases the directory lock. Reads running concurrently
// finish first; later ones return ErrClosed. Close is idempotent: later
// calls return the first call's result. It must not be called from an
// Apply function.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
		<-s.loopDone
		var errs []error
		if err := s.closeSeen(); err != nil {
			errs = append(errs, err)
		}
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: close database: %w", err))
		}
		if err := s.lock.release(); err != nil {
			errs = append(errs, fmt.Errorf("store: release lock: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
