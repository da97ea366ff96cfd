package storaged

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/storaged/replica"
	"github.com/shoalkv/shoal/storaged/store"
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
// Each partition also counts its staged writes whose fate is not known yet
// (pending) and the deltas applied (seq), so that verify can tell a
// partition that no write touched during its scan (compared exactly) from
// one that a write raced (skipped, checked at the next verify).
//
// A node run without trees (Config.NoTrees) has trees that are off: stage
// hashes nothing and returns nil, and no tree is ever made.
type trees struct {
	mu    sync.Mutex
	off   bool         // Config.NoTrees; set before the node serves, never changed
	parts []*partTree  // by partition; nil: no object hashed yet (or not rebuilt yet)
	count int          // parts that are not nil
	empty *merkle.Tree // what read shows of a partition with no tree: never changed

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

	// What the rebuild at start did (status), once it is done.
	rebuildKeys uint64
	rebuildTook time.Duration
	// mismatches counts the partitions verify found differing from the store.
	mismatches uint64
}

// partTree is one partition's live tree and the counters verify reads.
type partTree struct {
	tree *merkle.Tree
	// seq counts the changes to tree since it was made: deltas applied, and
	// a replacement by verify. Verify and anti-entropy (antientropy.Skips)
	// tell by it whether the tree changed.
	seq     uint64
	pending int // writes staged whose then has not run yet
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
			pt.pending--
			if committed {
				pt.tree.Apply(key, delta)
				pt.seq++
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
	pt.pending++
	t.mu.Unlock()
	return func(committed bool) {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.settle()
		pt.pending--
		if committed {
			pt.tree.Apply(key, delta)
			pt.seq++
		}
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

// sizedTree is a partition's tree built from the store, with the number
// of objects hashed into it.
type sizedTree struct {
	tree *merkle.Tree
	keys int
}

// scanTrees hashes every object of the Objects bucket of st into fresh trees,
// one per partition of r that holds any, each sized by its objects
// (merkle.LeavesFor), and returns them with the number of keys hashed. One
// scan of the bucket hashes every partition into a tree of the smallest
// size and counts its objects; a partition that holds more than that size
// is meant for is hashed again, by a scan of its range, into a tree of its
// size. The scans are separate snapshots: callers that write meanwhile
// check for writes over the whole call (verifyTrees). A record that fails
// its checksum is skipped by the scan and one that does not decode is
// skipped here: a write sees both as it sees an absent key (or refuses to
// write), so the live trees leave them out too.
func scanTrees(st store.Engine, r *ring.Ring) (fresh []*sizedTree, keys, undecodable int, err error) {
	fresh = make([]*sizedTree, r.Partitions())
	err = st.ForEach(store.Objects, func(key, value []byte) error {
		obj, err := replica.ObjectOf(value)
		if err != nil {
			undecodable++
			return nil
		}
		p := r.PartitionOf(key)
		if fresh[p] == nil {
			fresh[p] = &sizedTree{tree: emptyTree()}
		}
		fresh[p].tree.Apply(key, merkle.Hash(key, obj))
		fresh[p].keys++
		keys++
		return nil
	})
	if err != nil {
		return nil, 0, 0, err
	}
	for p, ft := range fresh {
		if ft == nil || merkle.LeavesFor(ft.keys) == ft.tree.Size() {
			continue
		}
		if fresh[p], err = scanPartition(st, p, merkle.LeavesFor(ft.keys)); err != nil {
			return nil, 0, 0, err
		}
	}
	return fresh, keys, undecodable, nil
}

// scanPartition hashes partition p's objects into a tree of size leaves.
func scanPartition(st store.Engine, p, leaves int) (*sizedTree, error) {
	tr, err := merkle.New(leaves)
	if err != nil {
		return nil, err
	}
	out := &sizedTree{tree: tr}
	err = st.ScanPartition(p, nil, func(key, value []byte) bool {
		if obj, err := replica.ObjectOf(value); err == nil {
			out.tree.Apply(key, merkle.Hash(key, obj))
			out.keys++
		}
		return true
	})
	return out, err
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
	if t.empty == nil {
		t.empty = emptyTree()
	}
	f(t.empty, 0)
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

// verifyTrees rebuilds fresh trees from the store and compares them with the
// live ones. It returns the partitions whose live tree differed (ascending),
// after replacing each of them with its rebuilt tree and counting it in
// mismatches, and how many partitions it could not check because a write to
// them was in flight or applied during the scan (they are checked next time).
// A live tree whose size is no longer its partition's (merkle.LeavesFor) is
// compared with the rebuilt one folded to the smaller of the two sizes and,
// equal, replaced by the rebuilt one: that is a resize, not a mismatch.
//
// The comparison is exact for the partitions it checks: a partition with no
// write pending when its counters are read, before the scans' snapshots are
// taken, and the same counters after the scans, had every write those
// snapshots hold applied to its tree and nothing applied since. The scan
// reads the whole Objects bucket, unthrottled: a periodic run on a large
// node wants the partition ranges and the throttle of the exchange.
func (s *Server) verifyTrees() (differ []int, busy int, err error) {
	t := s.trees
	type mark struct {
		seq    uint64
		stable bool
	}
	marks := make([]mark, len(t.parts))
	t.mu.Lock()
	for p, pt := range t.parts {
		marks[p] = mark{stable: t.building[p] == nil}
		if pt != nil {
			marks[p] = mark{seq: pt.seq, stable: pt.pending == 0}
		}
	}
	t.mu.Unlock()
	fresh, _, _, err := scanTrees(s.st, s.ring.Load())
	if err != nil {
		return nil, 0, err
	}
	if len(fresh) != len(t.parts) {
		return nil, 0, fmt.Errorf("storaged: verify trees: the ring has %d partitions, the trees %d", len(fresh), len(t.parts))
	}
	empty := &sizedTree{tree: emptyTree()}
	t.mu.Lock()
	defer t.mu.Unlock()
	for p, pt := range t.parts {
		live := empty.tree
		var seq uint64
		pending := 0
		if pt != nil {
			live, seq, pending = pt.tree, pt.seq, pt.pending
		}
		if !marks[p].stable || pending != 0 || seq != marks[p].seq || t.building[p] != nil {
			busy++ // raced, or still rebuilding since the node started
			continue
		}
		rebuilt := fresh[p]
		if rebuilt == nil {
			rebuilt = &sizedTree{tree: emptyTree()} // never share empty
		}
		same, err := equalFolded(live, rebuilt.tree)
		if err != nil {
			return nil, 0, err
		}
		if same && live.Size() == rebuilt.tree.Size() {
			continue
		}
		if !same {
			differ = append(differ, p)
		}
		replaced := t.part(p)
		replaced.tree = rebuilt.tree
		replaced.seq++ // a new tree: anti-entropy's facts about the old one (antientropy.Skips) no longer hold
	}
	if len(differ) > 0 {
		t.mismatches += uint64(len(differ))
		s.log.Error("hash trees differed from the store and were replaced by rebuilt ones",
			"partitions", len(differ), "first", differ[0])
	}
	return differ, busy, nil
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
// (Close) stops it.
func (s *Server) startVerify() error {
	s.verifyMu.Lock()
	defer s.verifyMu.Unlock()
	if s.closed.Load() {
		return errors.New("storaged: server is closed")
	}
	if s.verifyDone != nil || s.cfg.TreeVerifyInterval < 0 || s.trees.off {
		return nil
	}
	stop, done := make(chan struct{}), make(chan struct{})
	s.verifyStop, s.verifyDone = stop, done
	go func() {
		defer close(done)
		tk := s.clock.NewTicker(s.cfg.TreeVerifyInterval)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C():
				if _, busy, err := s.verifyTrees(); err != nil {
					s.log.Warn("hash tree verify failed", "err", err)
				} else if busy > 0 {
					s.log.Debug("hash tree verify skipped partitions written meanwhile", "partitions", busy)
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
		close(stop)
		<-done
	}
}
