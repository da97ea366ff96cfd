package storaged

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire/dvv"
)

// A partition's tree is sized by the objects it holds (merkle.LeavesFor:
// about 4 keys per leaf, 256 to 2^18 leaves), when it is built from the
// store: at start and at each verify, which also resizes a tree whose
// partition has grown or shrunk past its size. In between, writes keep
// the size and a growing partition packs more keys per leaf; exchanges
// compare trees of different sizes by folding the larger (merkle.Fold).

// trees are the node's live hash trees, one per partition that holds objects
// on this node (created when its first object is hashed), kept current on
// every mutation of the Objects bucket (stage) and checked against the store
// by verify.
//
// Upkeep runs on the store's commit loop: a write's Apply function computes
// its delta, Hash(key, old) ^ Hash(key, next), and stage returns the
// ApplyThen callback that applies it only once the batch has committed. A
// failed or ambiguous commit applies nothing (after an ambiguous one the
// store refuses every call until it is reopened, and a reopened node
// rebuilds its trees).
//
// Each partition also counts the changes to its tree (seq), by which
// anti-entropy tells a tree that has not changed since it last agreed with
// a peer. The trees count the writes staged and settled across all
// partitions, which the rebuild at start and the verify wait on to be
// exact while writes go on (rebuild.go).
//
// A node run without trees (Config.NoTrees) has trees that are off: stage
// hashes nothing and returns nil, and no tree is ever made.
type trees struct {
	mu    sync.Mutex
	off   bool         // Config.NoTrees; set before the node serves, never changed
	parts []*partTree  // by partition; nil: no object hashed yet (or not rebuilt yet)
	count int          // parts that are not nil
	empty *merkle.Tree // emptyShared: what read shows of a partition with no tree; never changed

	// building holds, by partition, the rebuild of a partition whose tree
	// is not ready yet (rebuild.go); nil once it is. unready counts them.
	// A partition being rebuilt has no live tree, and exchanges of it are
	// refused until its rebuild installs one.
	building []*rebuild
	unready  int
	// staged and settled count the writes staged and those whose then has
	// run, across all partitions. Both advance in commit order, so once
	// settled reaches a value staged had, every write staged until then is
	// settled (a rebuild waits for that: rebuild.go).
	staged, settled uint64
	// wake, if not nil, is closed (and cleared) when settled advances: a
	// rebuild waiting for a mark sleeps on it.
	wake chan struct{}
	// check, if not nil, is the verify's fresh build of partition checkP
	// (verifyPartition): the writes to it that settle reach it too.
	check  *rebuild
	checkP int

	// What the rebuild at start did (status), once it is done.
	rebuildKeys uint64
	rebuildTook time.Duration
	// mismatches counts the partitions verify found differing from the store.
	mismatches uint64
}

// partTree is one partition's live tree.
type partTree struct {
	tree *merkle.Tree
	// seq counts the changes to tree since it was made: deltas applied, and
	// a replacement by verify. Anti-entropy (antientropy.Skips) tells by it
	// whether the tree changed.
	seq uint64
}

// testEarlyApply makes stage apply a delta before its batch commits, the bug
// upkeep must not have: the negative control of the tree tests.
var testEarlyApply atomic.Bool

// newTrees returns the trees of a node with partitions partitions, every
// one ready and empty (rebuilding marks them all for a rebuild).
func newTrees(partitions int) *trees {
	return &trees{parts: make([]*partTree, partitions), building: make([]*rebuild, partitions)}
}

// ready reports whether partition p's tree is ready: rebuilt since the node
// started (and the trees are on).
func (t *trees) ready(p int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.off && t.building[p] == nil
}

// notReady returns how many partitions have no tree ready yet.
func (t *trees) notReady() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unready
}

// settle counts one staged write's then as run. The caller holds t.mu.
func (t *trees) settle() {
	t.settled++
	if t.wake != nil {
		close(t.wake)
		t.wake = nil
	}
}

// part returns partition p's entry, making it if it has none. The caller
// holds t.mu.
func (t *trees) part(p int) *partTree {
	if pt := t.parts[p]; pt != nil {
		return pt
	}
	pt := &partTree{tree: emptyTree()}
	t.parts[p] = pt
	t.count++
	return pt
}

// stage must be called inside the store's commit loop (an ApplyThen
// function) by a write that is about to turn key, in partition p, from old
// into next; its result is the then the function returns with the encoded
// next. The delta is applied when then(true) runs, and dropped on
// then(false). A write that stores nothing must not call stage (ApplyThen
// calls then only for a write that returned a value). With the trees off it
// does nothing and returns nil.
func (t *trees) stage(p int, key []byte, old, next dvv.Set) func(committed bool) {
	if t.off {
		return nil
	}
	hNext := merkle.Hash(key, next)
	delta := merkle.Hash(key, old) ^ hNext
	t.mu.Lock()
	t.staged++
	if rb := t.building[p]; rb != nil {
		rb.pending++
		t.mu.Unlock()
		return func(committed bool) {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.settle()
			if t.building[p] == rb {
				rb.pending--
				if committed {
					rb.apply(key, delta, hNext)
				}
				return
			}
			// The rebuild installed its tree meanwhile, with this write
			// still pending (rebuild.install).
			pt := t.parts[p]
			if committed {
				pt.tree.Apply(key, delta)
				pt.seq++
				t.checked(p, key, delta, hNext)
			}
		}
	}
	pt := t.part(p)
	if testEarlyApply.Load() {
		pt.tree.Apply(key, delta)
		pt.seq++
		t.settle()
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()
	return func(committed bool) {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.settle()
		if committed {
			pt.tree.Apply(key, delta)
			pt.seq++
			t.checked(p, key, delta, hNext)
		}
	}
}

// checked passes a write of partition p that settled committed to the
// verify building p afresh, if one is. The caller holds t.mu.
func (t *trees) checked(p int, key []byte, delta, hNext uint64) {
	if t.check != nil && t.checkP == p {
		t.check.apply(key, delta, hNext)
	}
}

// emptyTree returns a new tree of the smallest size.
func emptyTree() *merkle.Tree {
	tr, err := merkle.New(merkle.MinLeaves)
	if err != nil {
		panic(fmt.Sprintf("storaged: tree of %d leaves: %v", merkle.MinLeaves, err)) // a constant valid size
	}
	return tr
}

// seq returns partition p's tree version (partTree.seq; 0 for a partition
// that holds nothing here yet).
func (t *trees) seq(p int) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pt := t.parts[p]; pt != nil {
		return pt.seq
	}
	return 0
}

// read calls f with partition p's live tree (an empty one if the partition
// holds nothing here) and its seq, under the trees' mutex: f must be quick
// and must not keep the tree.
func (t *trees) read(p int, f func(tr *merkle.Tree, seq uint64)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pt := t.parts[p]; pt != nil {
		f(pt.tree, pt.seq)
		return
	}
	f(t.emptyShared(), 0)
}

// emptyShared returns the trees' one empty tree, never changed: what a
// partition with no tree reads as, and what a built tree is compared with
// to tell that there is nothing to keep. The caller holds t.mu.
func (t *trees) emptyShared() *merkle.Tree {
	if t.empty == nil {
		t.empty = emptyTree()
	}
	return t.empty
}

// treeStatus is what status reports of the trees.
type treeStatus struct {
	trees, rebuildKeys, rebuildMS, mismatches uint64
}

func (t *trees) status() treeStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return treeStatus{
		trees:       uint64(t.count),
		rebuildKeys: t.rebuildKeys,
		rebuildMS:   uint64(t.rebuildTook.Milliseconds()),
		mismatches:  t.mismatches,
	}
}

// verifyTrees checks every partition's live tree against one built afresh
// from the store, one partition at a time, by the chunked scan the rebuild
// at start uses (rebuild.go: short snapshots, throttled to
// TreeRebuildRate, exact while writes go on: it waits for the writes in
// flight rather than skipping their partition). It returns the partitions
// whose live tree differed (ascending), after replacing each with the tree
// built and counting it in mismatches, and how many partitions it did not
// check because their rebuild at start has not installed a tree yet. A
// live tree whose size is no longer its partition's (merkle.LeavesFor) is
// compared with the built one folded to the smaller of the two sizes and,
// equal, replaced by it: that is a resize, not a mismatch.
func (s *Server) verifyTrees(ctx context.Context) (differ []int, busy int, err error) {
	t := s.trees
	for p := range t.parts {
		if !t.ready(p) {
			busy++
			continue
		}
		d, err := s.verifyPartition(ctx, p)
		if err != nil {
			return differ, busy, err
		}
		if d {
			differ = append(differ, p)
		}
	}
	if len(differ) > 0 {
		t.mu.Lock()
		t.mismatches += uint64(len(differ))
		t.mu.Unlock()
		s.log.Error("hash trees differed from the store and were replaced by rebuilt ones",
			"partitions", len(differ), "first", differ[0])
	}
	return differ, busy, nil
}

// verifyPartition builds partition p's tree afresh (the trees' check slot,
// which the writes that settle meanwhile also reach) and compares it with
// the live one (trees.compare); it reports whether they differed.
func (s *Server) verifyPartition(ctx context.Context, p int) (differed bool, err error) {
	t := s.trees
	rb := &rebuild{}
	t.mu.Lock()
	t.check, t.checkP = rb, p
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.check = nil
		t.mu.Unlock()
	}()
	err = s.buildPartition(ctx, p, rb, func() { differed = t.compare(p, rb) })
	return differed, err
}

// compare compares partition p's live tree with rb's complete one, built
// afresh, and replaces the live tree by it if they differ or only their
// sizes do; it reports whether they differed. The caller holds t.mu.
func (t *trees) compare(p int, rb *rebuild) (differed bool) {
	fresh := fitted(rb)
	live := t.parts[p]
	var tree *merkle.Tree
	if live != nil {
		tree = live.tree
	} else {
		tree = t.emptyShared()
		if rb.keys == 0 && fresh.Equal(tree) {
			return false // nothing here, nothing built
		}
	}
	same, err := equalFolded(tree, fresh)
	if err != nil {
		panic(fmt.Sprintf("storaged: compare trees of %d and %d leaves: %v", tree.Size(), fresh.Size(), err)) // both valid sizes
	}
	if same && tree.Size() == fresh.Size() {
		return false
	}
	replaced := t.part(p)
	replaced.tree = fresh
	replaced.seq++ // a new tree: anti-entropy's facts about the old one (antientropy.Skips) no longer hold
	return !same
}

// equalFolded reports whether a and b are equal once the larger is folded
// to the size of the smaller.
func equalFolded(a, b *merkle.Tree) (bool, error) {
	var err error
	switch {
	case a.Size() > b.Size():
		a, err = a.Fold(b.Size())
	case b.Size() > a.Size():
		b, err = b.Fold(a.Size())
	}
	if err != nil {
		return false, err
	}
	return a.Equal(b), nil
}

// startVerify starts the background verify, every TreeVerifyInterval on the
// node's clock, unless it is off or the node has no trees; stopVerify
// (Close) stops it, a verify in progress included.
func (s *Server) startVerify() error {
	s.verifyMu.Lock()
	defer s.verifyMu.Unlock()
	if s.closed.Load() {
		return errors.New("storaged: server is closed")
	}
	if s.verifyDone != nil || s.cfg.TreeVerifyInterval < 0 || s.trees.off {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.verifyStop, s.verifyDone = cancel, done
	go func() {
		defer close(done)
		tk := s.clock.NewTicker(s.cfg.TreeVerifyInterval)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C():
				if _, busy, err := s.verifyTrees(ctx); err != nil {
					if ctx.Err() == nil {
						s.log.Warn("hash tree verify failed", "err", err)
					}
				} else if busy > 0 {
					s.log.Debug("hash tree verify skipped partitions still rebuilding since the start", "partitions", busy)
				}
			}
		}
	}()
	return nil
}

// stopVerify stops the background verify, if it runs, and waits for it.
func (s *Server) stopVerify() {
	s.verifyMu.Lock()
	stop, done := s.verifyStop, s.verifyDone
	s.verifyStop = nil
	s.verifyMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}
