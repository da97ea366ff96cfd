package storaged

import (
	"context"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/antientropy"
	"github.com/shoalkv/shoal/wire/dvv"
)

// SetHintAppliedHook makes f run in every hinted write after its Apply has
// returned and before the write is settled in the hint book, and returns a
// function that removes it. Tests use it to hold a writer at that point.
func SetHintAppliedHook(f func()) (restore func()) {
	testHookHintApplied.Store(&f)
	return func() { testHookHintApplied.Store(nil) }
}

// VerifyTrees runs the hash tree verify now (verifyTrees): the partitions
// whose live tree differed from one built afresh (now replaced), and how
// many it skipped because their rebuild at start is not done.
func (s *Server) VerifyTrees() (differ []int, busy int, err error) {
	return s.verifyTrees(context.Background())
}

// SetTreesEarlyApply makes every node apply a write's tree delta before its
// batch commits (the bug the upkeep avoids), and returns a function that
// restores the right order. It is the negative control of the tree tests.
func SetTreesEarlyApply() (restore func()) {
	testEarlyApply.Store(true)
	return func() { testEarlyApply.Store(false) }
}

// ApplyTreeDelta XORs delta into key's live tree, as a bug in the upkeep
// would: verify must find and count it.
func (s *Server) ApplyTreeDelta(key []byte, delta uint64) {
	s.trees.mu.Lock()
	defer s.trees.mu.Unlock()
	s.trees.part(s.ring.Load().PartitionOf(key)).tree.Apply(key, delta)
}

// PartitionOf is the partition of key in the node's ring.
func (s *Server) PartitionOf(key []byte) int { return s.ring.Load().PartitionOf(key) }

// StageTreeWrite stages a write of obj under key as a write's Apply function
// does, and returns its then: until it runs, verify must skip key's
// partition.
func (s *Server) StageTreeWrite(key []byte, obj dvv.Set) (then func(committed bool)) {
	return s.trees.stage(s.ring.Load().PartitionOf(key), key, dvv.Set{}, obj)
}

// SetRepairOwnThrottle makes every repair run with an exchange slot and a
// byte throttle of its own (the bypass repairs must not have), and returns
// a function that restores the shared ones. It is the negative control of
// the repair throttle test.
func SetRepairOwnThrottle() (restore func()) {
	testRepairOwnThrottle.Store(true)
	return func() { testRepairOwnThrottle.Store(false) }
}

// TreeSize is the number of leaves of partition p's live tree (0: none).
func (s *Server) TreeSize(p int) int {
	s.trees.mu.Lock()
	defer s.trees.mu.Unlock()
	if pt := s.trees.parts[p]; pt != nil {
		return pt.tree.Size()
	}
	return 0
}

// SetExchangeHook makes f see each anti-entropy exchange's figures as it
// ends, with the objects it fetched and pushed, on every node of the
// process, and returns a function that removes it.
func SetExchangeHook(f func(p int, peer ring.NodeID, st antientropy.Stats, fetched, pushed int)) (restore func()) {
	g := func(p int, peer ring.NodeID, st antientropy.Stats, m moved) { f(p, peer, st, m.Fetched, m.Pushed) }
	testHookExchanged.Store(&g)
	return func() { testHookExchanged.Store(nil) }
}

// SetClocksAnswerEmpty makes every node answer an exchange's clock request
// with empty clocks, as if it held none of the keys asked, and returns a
// function that restores the right answers. It is the negative control of
// the tests that count an exchange's moves.
func SetClocksAnswerEmpty() (restore func()) {
	testClocksEmpty.Store(true)
	return func() { testClocksEmpty.Store(false) }
}

// TreesNotReady is the number of partitions whose tree the rebuild at
// start has not installed yet.
func (s *Server) TreesNotReady() int { return s.trees.notReady() }

// SetRebuildChunkHook makes f run in every tree rebuild between a chunk's
// snapshot and its wait, with the partition and the keys scanned, and
// returns a function that removes it.
func SetRebuildChunkHook(f func(p int, keys []string)) (restore func()) {
	testHookRebuildChunk.Store(&f)
	return func() { testHookRebuildChunk.Store(nil) }
}

// SetRebuildSnapshotOnly makes every rebuild chunk ignore the writes that
// settled since its mark (the bug the marks avoid), and returns a function
// that restores them. It is the negative control of the rebuild tests.
func SetRebuildSnapshotOnly() (restore func()) {
	testRebuildSnapshotOnly.Store(true)
	return func() { testRebuildSnapshotOnly.Store(false) }
}

// SetRebuildChunk makes every tree rebuild scan n keys per snapshot, and
// returns a function that restores the default.
func SetRebuildChunk(n int) (restore func()) {
	old := rebuildChunk
	rebuildChunk = n
	return func() { rebuildChunk = old }
}

// SetDeliveryWindow makes hint delivery keep n records in flight per
// owner, and returns a function that restores the default.
func SetDeliveryWindow(n int) (restore func()) {
	old := deliveryWindow
	deliveryWindow = n
	return func() { deliveryWindow = old }
}
