package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestGroupCommitBatches: concurrent durable writers share commits.
func TestGroupCommitBatches(t *testing.T) {
	const writers, each = 64, 20
	s := openT(t, t.TempDir(), Options{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := set(s, Objects, fmt.Sprintf("w%d-%d", w, i), "v"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	t.Logf("%+v: %.1f writes per commit", st, float64(st.Writes)/float64(st.Commits))
	if st.Writes != writers*each {
		t.Fatalf("Writes = %d, want %d", st.Writes, writers*each)
	}
	if st.Commits*4 > st.Writes {
		t.Fatalf("%d commits for %d concurrent writes: not batching", st.Commits, st.Writes)
	}
}

// TestLoneWriterCommitsAlone: a sequential writer gets one commit per write,
// so it never waits for company.
func TestLoneWriterCommitsAlone(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	for i := range 50 {
		if err := set(s, Objects, fmt.Sprint(i), "v"); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Commits != uint64(i+1) || st.Writes != uint64(i+1) || st.GroupWaits != 0 {
			t.Fatalf("after %d writes: %+v", i+1, st)
		}
	}
}

// waitLong sets the group wait of a store no write reached yet to an hour,
// past the limit Open accepts, so that only a full batch or Close can end a
// wait. (The commit loop reads it after taking the first write, which comes
// after this change.)
func waitLong(s *Store) { s.opts.GroupWait = time.Hour }

// loadThenOne prepares a group wait: a batch of n concurrent writes (n >=
// 4, so the writers count as concurrent), then one more write, which the
// loop takes alone and holds while it waits for company. It returns once the
// loop waits, with the channel on which that write's error arrives. s must
// have a long GroupWait (waitLong).
func loadThenOne(t *testing.T, s *Store, n int) <-chan error {
	t.Helper()
	release := stall(t, s)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := set(s, Objects, fmt.Sprintf("load%d", i), "v"); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(s, n)
	release()
	wg.Wait()
	if st := s.Stats(); st.GroupWaits != 0 {
		t.Fatalf("%+v: waited for company before any concurrent batch", st)
	}
	errc := make(chan error, 1)
	go func() { errc <- set(s, Objects, "one", "v") }()
	for deadline := time.Now().Add(10 * time.Second); s.Stats().GroupWaits == 0; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("%+v: the loop did not wait for company after a concurrent batch", s.Stats())
		}
	}
	return errc
}

// TestGroupWaitGathersUnderLoad: after a batch of concurrent writers, the
// loop holds a lone first arrival until as many writes as last time are
// there (not until the wait or MaxBatch runs out), and they share one
// commit.
func TestGroupWaitGathersUnderLoad(t *testing.T) {
	const batch = 4
	s := openT(t, t.TempDir(), Options{NoSync: true})
	waitLong(s)
	errc := loadThenOne(t, s, batch)
	before := s.Stats()
	var wg sync.WaitGroup
	for i := range batch - 1 {
		wg.Go(func() {
			if err := set(s, Objects, fmt.Sprintf("company%d", i), "v"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait() // returns once the group is back: well before the hour
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	if commits, writes := after.Commits-before.Commits, after.Writes-before.Writes; commits != 1 || writes != batch {
		t.Errorf("%d commits carried %d writes; want one commit of %d", commits, writes, batch)
	}
	if after.GroupWaits != 1 {
		t.Errorf("%+v: want exactly one group wait", after)
	}
}

// TestCloseDuringGroupWait: Close ends a group wait at once and the waiting
// write is committed, durably.
func TestCloseDuringGroupWait(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	waitLong(s) // a wait that Close did not end would hang the test
	errc := loadThenOne(t, s, 4)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the group wait")
	}
	if err := <-errc; err != nil {
		t.Fatalf("the waiting write: %v", err)
	}
	s = openT(t, dir, Options{})
	if got := mustGet(t, s, Objects, "one"); got != "v" {
		t.Fatalf("one = %q after Close and reopen", got)
	}
}

// TestMaxBatchOne: MaxBatch 1 commits every write alone, however many wait.
func TestMaxBatchOne(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true, MaxBatch: 1})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 10 {
				if err := set(s, Objects, fmt.Sprintf("w%d-%d", w, i), "v"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if st := s.Stats(); st.Commits != st.Writes || st.Writes != 160 {
		t.Fatalf("Stats = %+v, want 160 commits of one write", st)
	}
}

// TestBatchIsolation builds one batch holding good writes, a failing
// function, a panicking function and a delete, plus invalid keys rejected
// before queueing: only the bad calls fail.
func TestBatchIsolation(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	ctx := context.Background()
	if err := set(s, Objects, "doomed", "x"); err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	release := stall(t, s)

	fnErr := errors.New("fn says no")
	type call struct {
		name string
		run  func() error
		want error
	}
	calls := []call{
		{"good1", func() error { return set(s, Objects, "good1", "1") }, nil},
		{"fnErr", func() error {
			return s.Apply(ctx, Objects, []byte("bad"), func([]byte) ([]byte, error) { return []byte("no"), fnErr })
		}, fnErr},
		{"panic", func() (err error) {
			defer func() {
				if p := recover(); p != "boom" {
					err = fmt.Errorf("recovered %v, want boom", p)
				}
			}()
			_ = s.Apply(ctx, Objects, []byte("panic"), func([]byte) ([]byte, error) { panic("boom") })
			return errors.New("Apply returned instead of panicking")
		}, nil},
		{"delete", func() error { return s.Delete(ctx, Objects, []byte("doomed")) }, nil},
		{"good2", func() error { return set(s, Objects, "good2", "2") }, nil},
	}
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() { errs[i] = c.run() })
	}
	waitQueued(s, len(calls))
	// Invalid keys fail at once, without reaching the batch.
	for _, key := range []string{"", strings.Repeat("k", MaxKeySize+1)} {
		if err := set(s, Objects, key, "v"); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%d-byte key: %v", len(key), err)
		}
	}
	release()
	wg.Wait()

	for i, c := range calls {
		if !errors.Is(errs[i], c.want) || (c.want == nil && errs[i] != nil) {
			t.Errorf("%s: %v, want %v", c.name, errs[i], c.want)
		}
	}
	if got := mustGet(t, s, Objects, "good1") + mustGet(t, s, Objects, "good2"); got != "12" {
		t.Errorf("good writes = %q", got)
	}
	wantAbsent(t, s, Objects, "bad")
	wantAbsent(t, s, Objects, "panic")
	wantAbsent(t, s, Objects, "doomed")
	after := s.Stats()
	if commits, writes := after.Commits-before.Commits, after.Writes-before.Writes; commits != 2 || writes != uint64(len(calls))+1 {
		t.Errorf("%d commits carried %d writes; want the stall's and one batch of %d", commits, writes, len(calls))
	}
}

// TestCancelWhileQueued: a write whose ctx ends before the loop takes it
// returns ctx.Err() and never runs.
func TestCancelWhileQueued(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	release := stall(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	errc := make(chan error, 1)
	go func() {
		errc <- s.Apply(ctx, Objects, []byte("k"), func([]byte) ([]byte, error) {
			ran = true
			return []byte("v"), nil
		})
	}()
	waitQueued(s, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply = %v, want context.Canceled", err)
	}
	release()
	if err := set(s, Objects, "after", "v"); err != nil { // the loop has passed the cancelled write
		t.Fatal(err)
	}
	if ran {
		t.Error("the cancelled write's function ran")
	}
	wantAbsent(t, s, Objects, "k")

	if err := set(s, Objects, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, Objects, []byte("k")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with a cancelled ctx = %v", err)
	}
	if mustGet(t, s, Objects, "k") != "v" {
		t.Fatal("Delete with a cancelled ctx deleted")
	}
}

// failNth makes the nth commit from now fail: rolled back cleanly, or (if
// ambiguous) committed and then reported as failed, like a failed final
// fsync. It must be called while the commit loop is idle.
func failNth(s *Store, n int32, ambiguous bool, cause error) {
	var calls atomic.Int32
	s.commitTx = func(tx *bolt.Tx) error {
		if calls.Add(1) != n {
			return tx.Commit()
		}
		if ambiguous {
			if err := tx.Commit(); err != nil {
				return err
			}
		} else {
			_ = tx.Rollback()
		}
		return cause
	}
}

// TestCommitFailureRollsBack: a failed commit fails its whole batch, hides
// all of it, and leaves the store usable.
func TestCommitFailureRollsBack(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	if err := set(s, Objects, "k", "old"); err != nil {
		t.Fatal(err)
	}
	injected := errors.New("injected: no space left on device")
	failNth(s, 2, false, injected) // the stall's commit, then the batch's

	release := stall(t, s)
	keys := []string{"k", "a", "b"}
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() { errs[i] = set(s, Objects, k, "new") })
	}
	waitQueued(s, len(keys))
	release()
	wg.Wait()

	for i, err := range errs {
		if !errors.Is(err, ErrCommit) || !errors.Is(err, injected) || errors.Is(err, ErrBroken) {
			t.Errorf("write %q: %v; want ErrCommit wrapping the cause", keys[i], err)
		}
		if err != nil && !strings.Contains(err.Error(), "batch of 3 writes rolled back") {
			t.Errorf("error does not say what failed: %v", err)
		}
	}
	if got := mustGet(t, s, Objects, "k"); got != "old" {
		t.Errorf("k = %q after a failed batch, want old", got)
	}
	wantAbsent(t, s, Objects, "a")
	wantAbsent(t, s, Objects, "b")
	if st := s.Stats(); st.FailedCommits != 1 {
		t.Errorf("Stats = %+v, want one failed commit", st)
	}
	// The store stays usable.
	if err := set(s, Objects, "a", "later"); err != nil {
		t.Fatalf("write after a failed commit: %v", err)
	}
	if got := mustGet(t, s, Objects, "a"); got != "later" {
		t.Fatalf("a = %q", got)
	}
}

// TestAmbiguousCommitFailureBreaks: a commit that failed after its batch
// became visible leaves the store refusing everything until reopened.
func TestAmbiguousCommitFailureBreaks(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	injected := errors.New("injected: fdatasync: input/output error")
	failNth(s, 1, true, injected)

	err = set(s, Objects, "k", "v")
	if !errors.Is(err, ErrCommit) || !errors.Is(err, ErrBroken) || !errors.Is(err, injected) {
		t.Fatalf("write in the failed batch: %v; want ErrCommit, ErrBroken and the cause", err)
	}
	if err := set(s, Objects, "k2", "v"); !errors.Is(err, ErrBroken) || !errors.Is(err, injected) {
		t.Errorf("later write: %v; want ErrBroken with the cause", err)
	}
	if _, err := s.Get(Objects, []byte("k")); !errors.Is(err, ErrBroken) {
		t.Errorf("later Get: %v; want ErrBroken", err)
	}
	if _, err := s.Count(Objects); !errors.Is(err, ErrBroken) {
		t.Errorf("later Count: %v; want ErrBroken", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close of a broken store: %v", err)
	}
	// Reopening reads what reached the disk; here the commit had succeeded.
	s = openT(t, dir, Options{})
	if got := mustGet(t, s, Objects, "k"); got != "v" {
		t.Fatalf("k = %q after reopen", got)
	}
	wantAbsent(t, s, Objects, "k2")
}

// TestLoneWriteAfterIdleDoesNotWait: a concurrent batch long ago does not
// make a lone write wait for company: the loop forgets it after sitting
// idle.
func TestLoneWriteAfterIdleDoesNotWait(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	s.opts.GroupWait = 10 * time.Millisecond
	release := stall(t, s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := set(s, Objects, fmt.Sprintf("burst%d", i), "v"); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(s, 8)
	release()
	wg.Wait()
	time.Sleep(idleGroups*s.opts.GroupWait + 50*time.Millisecond)
	if err := set(s, Objects, "lone", "v"); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.GroupWaits != 0 {
		t.Errorf("%+v: a lone write after %v idle waited for company", st, idleGroups*s.opts.GroupWait)
	}
}

// TestThenOnFailedCommit: a batch that fails to commit, cleanly or
// ambiguously, calls its writes' then functions with false, before their
// writers get ErrCommit.
func TestThenOnFailedCommit(t *testing.T) {
	for _, ambiguous := range []bool{false, true} {
		t.Run(fmt.Sprintf("ambiguous=%v", ambiguous), func(t *testing.T) {
			s := openT(t, t.TempDir(), Options{NoSync: true})
			failNth(s, 1, ambiguous, errors.New("injected"))
			var calls []bool
			err := s.ApplyThen(context.Background(), Objects, []byte("k"), func([]byte) ([]byte, func(bool), error) {
				return []byte("v"), func(ok bool) { calls = append(calls, ok) }, nil
			})
			if !errors.Is(err, ErrCommit) || !slices.Equal(calls, []bool{false}) {
				t.Fatalf("err %v, then called with %v; want ErrCommit and [false]", err, calls)
			}
		})
	}
}
