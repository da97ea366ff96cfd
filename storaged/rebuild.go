package storaged

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/storaged/replica"
	"github.com/shoalkv/shoal/storaged/store"
)

// A node does not keep its hash trees on disk: each start rebuilds them
// from the store, so a tree never outlives the data it describes (an
// unclean stop, a restored file). The rebuild runs while the node serves:
// New marks every partition not ready, and Run's rebuild goroutine scans
// them in turn, in chunks of rebuildChunk keys, each chunk one short
// snapshot (never a long read transaction, which would stall a commit
// that grows the file), throttled to Config.TreeRebuildRate keys per
// second. A partition's tree is installed, exact, once its last chunk is
// in. Until then exchanges of it are refused with wire.ErrBusy (the peer
// skips it) and the node's own cycles skip it; an on-demand repair waits
// for the whole rebuild.
//
// Why a chunk is exact while writes go on. A rebuild covers its partition
// up to the last key it has added (rebuild.scanned); a write to a key it
// covers is applied to the tree being built as to a live one (its delta).
// A write past it is left to the chunk that will scan the key, which must
// add the key's value as of the moment it is added, whatever its
// snapshot saw. So each chunk:
//
//  1. marks: from now on, writes settled past scanned record the hash of
//     the key's new value (rebuild.recent);
//  2. scans its keys from a snapshot taken after the mark;
//  3. waits until every write staged before the scan ended has settled
//     (trees.staged, trees.settled: both advance in commit order). A
//     write in the snapshot was staged before it was taken, so it is now
//     settled; whether before the mark (then the snapshot holds its
//     value, and no later write to the key settled, or recent would hold
//     it) or after (recent holds the key's latest settled value);
//  4. adds each key of its range at recent's hash if recent has one, else
//     at the snapshot's, and moves scanned to its end. A write to one of
//     those keys still pending applies its delta to the tree when it
//     settles: its old value is the one just added.
//
// A partition whose objects outgrow its tree's size (merkle.LeavesFor) is
// started again at a larger one; at its end a tree larger than its
// objects need is folded to their size, so a rebuilt tree has the size a
// scan of the whole store would give it.

// rebuildChunk is the most keys one snapshot of a rebuild scans (a
// variable for tests: SetRebuildChunk).
var rebuildChunk = 1024

// testHookRebuildChunk, when set (tests), runs on the rebuild goroutine
// between a chunk's snapshot and its wait (steps 2 and 3), with the
// partition and the keys the chunk scanned: writes made there are after
// the snapshot.
var testHookRebuildChunk atomic.Pointer[func(p int, keys []string)]

// testRebuildSnapshotOnly makes a chunk add its keys at their snapshot's
// values, ignoring what settled since its mark: the bug the marks avoid,
// and the negative control of the rebuild tests.
var testRebuildSnapshotOnly atomic.Bool

// rebuild is one partition's tree being rebuilt (trees.building). Its
// fields are guarded by the trees' mutex.
type rebuild struct {
	tree     *merkle.Tree // nil until the first chunk
	keys     int          // objects added by the chunks: what sizes tree
	started  bool         // a chunk is in: scanned is meaningful
	complete bool         // the last chunk is in
	scanned  []byte       // the last key covered
	// recent, between a chunk's mark and its end, holds the hash of the
	// latest settled value (0: absent) of each key written past scanned;
	// nil otherwise.
	recent map[string]uint64
	// pending counts the writes staged into this rebuild whose then has
	// not run: a partition installed with some gets a tree for them.
	pending int
}

// covers reports whether key is in the part of the partition the rebuild
// has added.
func (rb *rebuild) covers(key []byte) bool {
	return rb.started && (rb.complete || bytes.Compare(key, rb.scanned) <= 0)
}

// apply takes a settled write of key (delta, and the hash of its new
// value): into the tree if the rebuild covers key, else into recent if a
// chunk is between its mark and its end, else nowhere (the snapshot of a
// later chunk holds it).
func (rb *rebuild) apply(key []byte, delta, hNext uint64) {
	if rb.covers(key) {
		rb.tree.Apply(key, delta)
		return
	}
	if rb.recent != nil {
		rb.recent[string(key)] = hNext
	}
}

// rebuildAll marks every partition for a rebuild: none is ready until the
// rebuild goroutine installs its tree. Called by New, before the node
// serves; nothing with the trees off.
func (t *trees) rebuildAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.off {
		return
	}
	for p := range t.building {
		t.building[p] = &rebuild{}
	}
	t.unready = len(t.building)
}

// waitSettled waits until the writes staged when settled reaches mark have
// all settled, or ctx ends.
func (t *trees) waitSettled(ctx context.Context, mark uint64) error {
	for {
		t.mu.Lock()
		if t.settled >= mark {
			t.mu.Unlock()
			return nil
		}
		if t.wake == nil {
			t.wake = make(chan struct{})
		}
		w := t.wake
		t.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startRebuild starts the rebuild goroutine (Run) unless nothing is left
// to rebuild; Close stops it with the node's other goroutines.
func (s *Server) startRebuild() error {
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()
	if s.closed.Load() {
		return errors.New("storaged: server is closed")
	}
	if s.rebuildDone != nil || s.trees.notReady() == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.rebuildStop, s.rebuildDone = cancel, done
	go func() {
		defer close(done)
		s.rebuildTrees(ctx)
	}()
	return nil
}

// stopRebuild stops the rebuild goroutine, if it runs, and waits for it.
func (s *Server) stopRebuild() {
	s.rebuildMu.Lock()
	stop, done := s.rebuildStop, s.rebuildDone
	s.rebuildStop = nil
	s.rebuildMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// rebuildTrees rebuilds every partition marked by rebuildAll, in
// partition order, until all are installed or ctx ends. A partition whose
// scan fails (the store closing or broken) is tried again a second later.
// It logs how long the whole rebuild took and its keys per second.
func (s *Server) rebuildTrees(ctx context.Context) {
	began := s.clock.Now()
	keys := 0
	for p := range s.trees.building {
		for {
			n, err := s.rebuildPartition(ctx, p)
			if err == nil {
				keys += n
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("hash tree rebuild of a partition failed; trying again", "partition", p, "err", err)
			if sleep(ctx, s.clock, time.Second) != nil {
				return
			}
		}
	}
	took := s.clock.Now().Sub(began)
	t := s.trees
	t.mu.Lock()
	t.rebuildKeys, t.rebuildTook = uint64(keys), took
	count := t.count
	t.mu.Unlock()
	rate := "n/a"
	if took > 0 {
		rate = fmt.Sprintf("%.0f", float64(keys)/took.Seconds())
	}
	s.log.Info("hash trees rebuilt", "partitions", count, "keys", keys, "took", took, "keys_per_s", rate,
		"throttle_keys_per_s", s.cfg.TreeRebuildRate)
}

// chunkKey is one key a rebuild chunk scanned, with the hash of its value
// (0: it does not decode, and is left out: a write sees it as absent, or
// refuses to write over it).
type chunkKey struct {
	key  string
	hash uint64
}

// rebuildPartition rebuilds partition p's tree and installs it, and
// returns the objects hashed into it.
func (s *Server) rebuildPartition(ctx context.Context, p int) (int, error) {
	t := s.trees
	t.mu.Lock()
	rb := t.building[p]
	t.mu.Unlock()
	if rb == nil {
		return 0, nil
	}
	err := s.buildPartition(ctx, p, rb, func() { t.install(p, rb) })
	t.mu.Lock()
	keys := rb.keys
	t.mu.Unlock()
	return keys, err
}

// buildPartition builds partition p's tree into rb chunk by chunk, and
// calls done, holding the trees' mutex, once the last chunk is in. The
// writes that settle meanwhile must reach rb.apply: rb is the partition's
// rebuild (trees.building) or the verify's check (trees.check). A
// partition that turns out to hold more objects than its tree's size
// suits is started again at a larger one.
func (s *Server) buildPartition(ctx context.Context, p int, rb *rebuild, done func()) error {
	size := merkle.MinLeaves
	for {
		again, err := s.buildFrom(ctx, p, rb, size, done)
		if err != nil || again == 0 {
			return err
		}
		size = again
	}
}

// buildFrom builds p's tree from the start at size leaves, chunk by chunk,
// and calls done once it is complete; if the partition turns out to hold
// more objects than size suits, it stops and returns the size to start
// again at.
func (s *Server) buildFrom(ctx context.Context, p int, rb *rebuild, size int, done func()) (again int, err error) {
	t := s.trees
	tree, err := merkle.New(size)
	if err != nil {
		return 0, err
	}
	t.mu.Lock()
	rb.tree, rb.keys, rb.started, rb.complete, rb.scanned = tree, 0, false, false, nil
	t.mu.Unlock()
	for {
		// 1. The mark.
		t.mu.Lock()
		rb.recent = make(map[string]uint64)
		var from []byte
		if rb.started {
			from = append(bytes.Clone(rb.scanned), 0) // the first key after scanned
		}
		t.mu.Unlock()
		// 2. The snapshot.
		chunk, more, err := s.scanChunk(p, from)
		if err == nil {
			if hook := testHookRebuildChunk.Load(); hook != nil {
				keys := make([]string, len(chunk))
				for i, c := range chunk {
					keys[i] = c.key
				}
				(*hook)(p, keys)
			}
			// 3. Every write staged by now settles.
			t.mu.Lock()
			mark := t.staged
			t.mu.Unlock()
			err = t.waitSettled(ctx, mark)
		}
		if err != nil {
			t.mu.Lock()
			rb.recent = nil
			t.mu.Unlock()
			return 0, err
		}
		// 4. The chunk's keys, at their latest values.
		t.mu.Lock()
		again = rb.add(chunk, more)
		if again == 0 && rb.complete {
			done()
		}
		t.mu.Unlock()
		if again != 0 || !more {
			return again, nil
		}
		if s.cfg.TreeRebuildRate > 0 {
			d := time.Duration(float64(len(chunk)) / float64(s.cfg.TreeRebuildRate) * float64(time.Second))
			if err := sleep(ctx, s.clock, d); err != nil {
				return 0, err
			}
		}
	}
}

// scanChunk reads up to rebuildChunk keys of partition p from from on (nil:
// its first), with their hashes, from one snapshot; more reports that the
// partition goes on past them.
func (s *Server) scanChunk(p int, from []byte) (chunk []chunkKey, more bool, err error) {
	err = s.st.ScanPartition(p, from, func(key, value []byte) bool {
		if len(chunk) == rebuildChunk {
			more = true
			return false
		}
		var h uint64
		if obj, err := replica.ObjectOf(value); err == nil {
			h = merkle.Hash(key, obj)
		}
		chunk = append(chunk, chunkKey{key: string(key), hash: h})
		return true
	})
	if errors.Is(err, store.ErrClosed) {
		err = fmt.Errorf("storaged: hash tree rebuild: %w", err)
	}
	return chunk, more, err
}

// add takes a chunk in (step 4): its keys, and the keys recent holds in
// its range, each at recent's hash if it has one; more reports the
// partition goes on past the chunk's last key. It returns the size to
// start again at if the objects added outgrow the tree, else 0. The
// caller holds the trees' mutex.
func (rb *rebuild) add(chunk []chunkKey, more bool) (again int) {
	in := func(k string) bool {
		if rb.started && k <= string(rb.scanned) {
			return false
		}
		return !more || k <= chunk[len(chunk)-1].key
	}
	latest := make(map[string]uint64, len(chunk))
	for _, c := range chunk {
		latest[c.key] = c.hash
	}
	for k, h := range rb.recent {
		if in(k) && !testRebuildSnapshotOnly.Load() {
			latest[k] = h
		}
	}
	rb.recent = nil
	for k, h := range latest {
		if h != 0 {
			rb.tree.Apply([]byte(k), h)
			rb.keys++
		}
	}
	rb.started = true
	if more {
		rb.scanned = []byte(chunk[len(chunk)-1].key)
	} else {
		rb.complete = true
	}
	if want := merkle.LeavesFor(rb.keys); want > rb.tree.Size() {
		if more {
			return merkle.LeavesFor(4 * rb.keys)
		}
		return want
	}
	return 0
}

// install makes rb's complete tree partition p's live one, folded to the
// size its objects call for. A
// partition that holds nothing gets no tree. The caller holds t.mu.
func (t *trees) install(p int, rb *rebuild) {
	tree := fitted(rb)
	t.building[p] = nil
	t.unready--
	if rb.keys == 0 && rb.pending == 0 && tree.Equal(t.emptyShared()) {
		return
	}
	if t.parts[p] == nil {
		t.count++
	}
	t.parts[p] = &partTree{tree: tree}
}

// fitted returns rb's complete tree folded to the size its objects call
// for (merkle.LeavesFor), or itself if it has that size.
func fitted(rb *rebuild) *merkle.Tree {
	tree := rb.tree
	if want := merkle.LeavesFor(rb.keys); want < tree.Size() {
		folded, err := tree.Fold(want)
		if err != nil {
			panic(fmt.Sprintf("storaged: fold a tree of %d leaves to %d: %v", tree.Size(), want, err)) // both valid sizes
		}
		tree = folded
	}
	return tree
}

// waitTrees waits until every partition's tree is ready, or ctx ends.
func (s *Server) waitTrees(ctx context.Context) error {
	for s.trees.notReady() > 0 {
		if err := sleep(ctx, s.clock, 10*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}
