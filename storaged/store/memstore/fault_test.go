package memstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/storaged/store/memstore"
)

// TestFailCommitsRollsBack: rolled-back batches fail with ErrCommit, change
// nothing, and the store keeps serving; the count outlives a reopen.
func TestFailCommitsRollsBack(t *testing.T) {
	d := memstore.NewDisk()
	s := openT(t, d, memstore.Options{})
	mustSet(t, s, "k", "old")
	d.FailCommits(2, false)
	for range 2 {
		err := set(s, "k", "new")
		if !errors.Is(err, store.ErrCommit) || !errors.Is(err, memstore.ErrInjected) || errors.Is(err, store.ErrBroken) {
			t.Fatalf("write in a failing batch: %v; want ErrCommit and ErrInjected, not ErrBroken", err)
		}
		if !strings.HasPrefix(err.Error(), "memstore: ") || !strings.Contains(err.Error(), "rolled back") {
			t.Errorf("error message %q", err)
		}
		wantValue(t, s, "k", "old")
	}
	mustSet(t, s, "k", "new") // the faults are used up
	wantValue(t, s, "k", "new")
	if st := s.Stats(); st.FailedCommits != 2 || st.Commits != 2 || st.Writes != 2 {
		t.Errorf("Stats = %+v, want 2 commits of one write and 2 failed", st)
	}

	d.FailCommits(1, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, d, memstore.Options{})
	if err := set(s, "k", "newer"); !errors.Is(err, store.ErrCommit) {
		t.Errorf("write after reopening: %v, want the fault left over", err)
	}
	d.FailCommits(5, false)
	d.FailCommits(0, false) // cancels
	mustSet(t, s, "k", "newest")
}

// TestFailCommitsCancelledBatch: a batch whose only write was cancelled
// never commits, so it does not use up a fault.
func TestFailCommitsCancelledBatch(t *testing.T) {
	d := memstore.NewDisk()
	s := openT(t, d, memstore.Options{})
	d.FailCommits(1, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Delete(ctx, store.Objects, []byte("k")); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := set(s, "k", "v"); !errors.Is(err, store.ErrCommit) {
		t.Errorf("first committed write: %v, want ErrCommit", err)
	}
}

// TestFailCommitsAmbiguous: an ambiguous failure makes the batch visible,
// fails its writers with ErrCommit and ErrBroken, refuses every later call
// with ErrBroken, and Close keeps the batch.
func TestFailCommitsAmbiguous(t *testing.T) {
	d := memstore.NewDisk()
	s := openT(t, d, memstore.Options{})
	mustSet(t, s, "before", "v")
	d.FailCommits(1, true)
	err := set(s, "k", "v")
	if !errors.Is(err, store.ErrCommit) || !errors.Is(err, store.ErrBroken) || !errors.Is(err, memstore.ErrInjected) {
		t.Fatalf("write in the ambiguous batch: %v; want ErrCommit, ErrBroken and ErrInjected", err)
	}
	ctx := context.Background()
	if err := set(s, "k2", "v"); !errors.Is(err, store.ErrBroken) || errors.Is(err, store.ErrCommit) {
		t.Errorf("later write: %v; want ErrBroken only", err)
	}
	if err := s.Delete(ctx, store.Objects, []byte("before")); !errors.Is(err, store.ErrBroken) {
		t.Errorf("later Delete: %v", err)
	}
	if _, err := s.CompareAndDelete(ctx, store.Objects, []byte("before"), []byte("v")); !errors.Is(err, store.ErrBroken) {
		t.Errorf("later CompareAndDelete: %v", err)
	}
	if _, err := s.Get(store.Objects, []byte("before")); !errors.Is(err, store.ErrBroken) {
		t.Errorf("later Get: %v", err)
	}
	if _, err := s.Count(store.Objects); !errors.Is(err, store.ErrBroken) {
		t.Errorf("later Count: %v", err)
	}
	if err := s.ForEach(store.Objects, func(k, v []byte) error { return nil }); !errors.Is(err, store.ErrBroken) {
		t.Errorf("later ForEach: %v", err)
	}
	if err := s.View(func(store.View) error { return nil }); !errors.Is(err, store.ErrBroken) {
		t.Errorf("later View: %v", err)
	}
	if st := s.Stats(); st.FailedCommits != 1 || st.Commits != 1 {
		t.Errorf("Stats = %+v, want 1 commit and 1 failed", st)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close of a broken store: %v", err)
	}
	s = openT(t, d, memstore.Options{})
	wantValue(t, s, "k", "v") // Close kept the ambiguous batch
	wantValue(t, s, "before", "v")
	wantAbsent(t, s, "k2")
}

// TestAmbiguousCrashDecidedBySeed: a crash keeps the ambiguous batch for
// some seeds and not for others, the same way for the same seed.
func TestAmbiguousCrashDecidedBySeed(t *testing.T) {
	survives := func(seed uint64) bool {
		d := memstore.NewDisk()
		s := openT(t, d, memstore.Options{})
		d.FailCommits(1, true)
		if err := set(s, "k", "v"); !errors.Is(err, store.ErrBroken) {
			t.Fatalf("ambiguous write: %v", err)
		}
		d.Crash(seeded(seed))
		s = openT(t, d, memstore.Options{})
		_, err := s.Get(store.Objects, []byte("k"))
		return err == nil
	}
	outcomes := map[bool]int{}
	for seed := range uint64(20) {
		kept := survives(seed)
		if survives(seed) != kept {
			t.Fatalf("seed %d decided two ways", seed)
		}
		outcomes[kept]++
	}
	if outcomes[true] == 0 || outcomes[false] == 0 {
		t.Errorf("the ambiguous batch survived %d of 20 seeds; want some and not all", outcomes[true])
	}
}

// TestAmbiguousNoSyncStopsWriteback: under NoSync the writeback syncs what
// came before an ambiguous failure but never the failed batch.
func TestAmbiguousNoSyncStopsWriteback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := memstore.NewDisk()
		s := openT(t, d, memstore.Options{NoSync: true})
		mustSet(t, s, "synced", "v")
		synctest.Wait() // the writeback synced it
		d.FailCommits(1, true)
		if err := set(s, "ambiguous", "v"); !errors.Is(err, store.ErrBroken) {
			t.Fatalf("ambiguous write: %v", err)
		}
		synctest.Wait() // the writeback had its chance
		d.Crash(nil)
		s = openT(t, d, memstore.Options{})
		wantValue(t, s, "synced", "v")
		wantAbsent(t, s, "ambiguous")
	})
}

// TestThenOnFailedCommit: FailCommits' batches, rolled back or ambiguous,
// call their writes' then functions with false.
func TestThenOnFailedCommit(t *testing.T) {
	for _, ambiguous := range []bool{false, true} {
		d := memstore.NewDisk()
		s := openT(t, d, memstore.Options{})
		d.FailCommits(1, ambiguous)
		var calls []bool
		err := s.ApplyThen(context.Background(), store.Objects, []byte("k"), func([]byte) ([]byte, func(bool), error) {
			return []byte("v"), func(ok bool) { calls = append(calls, ok) }, nil
		})
		if !errors.Is(err, store.ErrCommit) || !slices.Equal(calls, []bool{false}) {
			t.Fatalf("ambiguous=%v: err %v, then called with %v; want ErrCommit and [false]", ambiguous, err, calls)
		}
	}
}
