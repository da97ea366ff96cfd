package memstore

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/shoalkv/shoal/storaged/store"
)

// Disk is what survives a simulated crash of a Store: the synced state, and
// the batches committed but not yet synced, oldest first. The committed
// state, the one reads see, is the synced state with the unsynced batches
// applied in order.
//
// One Store at a time holds a Disk, from Open to its Close or to Crash, the
// way a data directory's lock works. The zero Disk is empty and ready to
// use. A Disk is safe for concurrent use; it must not be copied.
type Disk struct {
	mu     sync.Mutex
	synced state
	// pending holds the state after each committed, unsynced batch, oldest
	// first; the last is the committed state. It is empty whenever no Store
	// is open: Close syncs it and Crash settles it.
	pending []state
	holder  *Store // the open Store, or nil
	// keys is the layout of the last Open (Record and SetRecord use it).
	keys store.Partitioning

	// failures is how many of the next batches fail (FailCommits), ambiguous
	// how.
	failures  int
	ambiguous bool
}

// fault is what FailCommits makes of a batch.
type fault uint8

const (
	noFault fault = iota
	failRollback
	failAmbiguous
)

// NewDisk returns an empty Disk: its first Open creates the epoch.
func NewDisk() *Disk { return &Disk{} }

// Open opens a Store on d, or returns an error matching store.ErrLocked if
// another Store of d is open. The first Open of a Disk records a new epoch,
// drawn from opts.Rand, and syncs it even under NoSync, so Fresh reports
// true; later Opens find it and report false.
//
// The Store owns one goroutine (two under NoSync: the commit loop and the
// writeback), started in the caller's testing/synctest bubble if it runs in
// one; use the Store, and Crash d, only from inside that bubble. Close or
// Crash ends them.
func (d *Disk) Open(opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	keys, err := store.NewPartitioning(opts.Partition, opts.Partitions)
	if err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.holder != nil {
		return nil, errLocked
	}
	laid, err := d.synced.withPartitions(keys)
	if err != nil {
		return nil, err
	}
	epoch, ok := laid.epoch()
	if !ok {
		if epoch, err = store.NewEpoch(opts.Rand); err != nil {
			return nil, fmt.Errorf("memstore: %w", err)
		}
		laid = laid.withEpoch(epoch)
		opts.Logger.Info("memstore: new epoch", "epoch", epoch)
	}
	d.synced, d.keys = laid.withFormat(), keys
	s := newStore(d, opts, keys, epoch, !ok)
	d.holder = s
	s.start()
	return s, nil
}

// Crash kills the open Store as a process crash would, then settles what
// the Disk keeps: the synced state always, and of the unsynced batches a
// prefix whose length rng draws uniformly from zero to all of them (a file
// system that keeps commits in order); a nil rng keeps none. rng is used
// only if unsynced batches exist, so a replay from one seed makes the same
// choices.
//
// Every call on the killed Store that is blocked, or made later, returns an
// error matching store.ErrClosed; a write answered so by the crash may or may
// not have survived it, like a write whose process died. Crash returns once
// the Store's goroutines have ended (an Apply function running at the time
// finishes first, and its write is dropped); it must not be called from an
// Apply function. Then Open works again. Crash without an open Store does
// nothing.
func (d *Disk) Crash(rng *rand.Rand) {
	d.mu.Lock()
	s := d.holder
	if s == nil {
		d.mu.Unlock()
		return
	}
	if n := len(d.pending); n > 0 {
		keep := 0
		if rng != nil {
			keep = rng.IntN(n + 1)
		}
		if keep > 0 {
			d.synced = d.pending[keep-1]
		}
		d.pending = nil
	}
	d.holder = nil
	close(s.gone)
	d.mu.Unlock()
	s.join()
}

// FailCommits makes the next n batches committed on d, by this Store or a
// later one, fail; n <= 0 cancels what is left. A batch counts when it
// commits, after its Apply functions ran (so one being applied now is the
// first), and only if at least one of its writes reached the commit (writes
// whose context ended first do not). Then:
//
//   - ambiguous false: the batch is rolled back, as on a full disk. Every
//     writer gets an error matching store.ErrCommit and ErrInjected, none of
//     the batch's writes is visible, and the Store keeps serving.
//   - ambiguous true: the batch becomes visible (committed, unsynced) but its
//     sync fails, so what is on disk is unknown. Every writer gets an error
//     matching store.ErrCommit, store.ErrBroken and ErrInjected, and every
//     later call on the Store returns one matching store.ErrBroken until it
//     is closed or crashed and reopened. Nothing is synced any more (not
//     even by the NoSync writeback): a Crash keeps the batch or not as its
//     rng decides, while Close keeps it, as a clean close of bbolt's file
//     leaves the page cache to reach the disk.
func (d *Disk) FailCommits(n int, ambiguous bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failures, d.ambiguous = max(n, 0), ambiguous
}

// committed returns the state reads see. d.mu must be held.
func (d *Disk) committed() state {
	if n := len(d.pending); n > 0 {
		return d.pending[n-1]
	}
	return d.synced
}

// current returns the committed state, or false if s no longer holds d.
func (d *Disk) current(s *Store) (state, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.holder != s {
		return nil, false
	}
	return d.committed(), true
}

// publish commits the batch that produced st unless FailCommits says it
// fails, and reports which fault it met; false means s no longer holds d.
// An ambiguous failure breaks s here, under d.mu, so that no sync can take
// the batch to disk.
func (d *Disk) publish(s *Store, st state) (fault, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.holder != s {
		return noFault, false
	}
	f := noFault
	if d.failures > 0 {
		d.failures--
		f = failRollback
		if d.ambiguous {
			f = failAmbiguous
		}
	}
	switch f {
	case failRollback:
		return f, true
	case failAmbiguous:
		s.breakDown()
	}
	d.pending = append(d.pending, st)
	return f, true
}

// unsynced returns how many committed batches wait for a sync, or false if
// s no longer holds d.
func (d *Disk) unsynced(s *Store) (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending), d.holder == s
}

// sync marks the oldest n unsynced batches synced (all of them if n < 0),
// unless s is broken; false means s no longer holds d.
func (d *Disk) sync(s *Store, n int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.holder != s {
		return false
	}
	if s.brokenErr() == nil {
		d.syncLocked(n)
	}
	return true
}

func (d *Disk) syncLocked(n int) {
	if n < 0 || n > len(d.pending) {
		n = len(d.pending)
	}
	if n == 0 {
		return
	}
	d.synced = d.pending[n-1]
	rest := copy(d.pending, d.pending[n:])
	clear(d.pending[rest:]) // let the synced states go
	d.pending = d.pending[:rest]
}

// release syncs everything committed and frees d for the next Open, if s
// still holds it; Close calls it once the commit loop has ended.
func (d *Disk) release(s *Store) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.holder != s {
		return // crashed
	}
	d.syncLocked(-1)
	d.holder = nil
	close(s.gone)
}

// Record returns a copy of the bytes the Disk keeps for key in bucket b (a
// record, store.AppendRecord's frame around the value) in its committed
// state, and whether the key exists; an Objects key is found under its
// partition's prefix in the layout of the last Open. With SetRecord it is
// how a test or the simulator damages a record.
func (d *Disk) Record(b store.Bucket, key []byte) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	stored, err := d.keys.StoredKey(b, key)
	if err != nil {
		return nil, false
	}
	rec, ok := d.committed()[b].get(stored)
	if !ok {
		return nil, false
	}
	return own(rec), true
}

// SetRecord makes rec the bytes kept for key in bucket b, bypassing the
// store (no checksum is computed), as a rotting disk or a bug below the
// store would; a nil rec removes the key. It works only while no Store is
// open (else it returns an error matching store.ErrLocked), on the synced
// state, which is then all there is.
func (d *Disk) SetRecord(b store.Bucket, key, rec []byte) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if err := store.ValidateKeyIn(b, key); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.holder != nil {
		return errLocked
	}
	stored, err := d.keys.StoredKey(b, key)
	if err != nil {
		return err
	}
	st := d.synced.clone()
	if rec == nil {
		st[b] = st[b].del(stored)
	} else {
		st[b] = st[b].put(own(stored), own(rec))
	}
	d.synced = st
	return nil
}
