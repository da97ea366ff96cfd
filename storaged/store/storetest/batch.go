package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalkv/shoal/storaged/store"
)

// testStats: a lone writer's calls are one commit and one write each,
// counting Apply calls whose fn failed or changed nothing, and a
// CompareAndDelete that matched nothing; refused calls count for nothing.
func testStats(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	if st := e.Stats(); st.Commits != 0 || st.Writes != 0 || st.FailedCommits != 0 {
		t.Errorf("Stats of a new store = %+v, want zero", st)
	}
	mustSet(t, e, store.Objects, "k", "v")
	_ = e.Apply(ctx, store.Objects, []byte("k"), func([]byte) ([]byte, error) { return nil, errors.New("no") })
	_ = e.Apply(ctx, store.Objects, []byte("k"), func([]byte) ([]byte, error) { return nil, nil })
	if err := e.Delete(ctx, store.Objects, []byte("absent")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CompareAndDelete(ctx, store.Objects, []byte("k"), []byte("other")); err != nil {
		t.Fatal(err)
	}
	_ = e.Apply(ctx, store.Objects, nil, put("v")) // invalid key
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_ = e.Apply(cancelled, store.Objects, []byte("k"), put("v"))
	if st := e.Stats(); st.Commits != 5 || st.Writes != 5 || st.FailedCommits != 0 {
		t.Errorf("Stats after 5 sequential writes and 2 refused ones = %+v, want 5 commits of 1 write", st)
	}
}

// stall occupies the commit loop with a write whose function blocks until
// release is called, and returns once that function runs. Writes issued
// meanwhile queue up and form the next batch.
func stall(t *testing.T, e store.Engine) (release func()) {
	t.Helper()
	running, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- e.Apply(context.Background(), store.Meta, []byte("stall"), func([]byte) ([]byte, error) {
			close(running)
			<-unblock
			return nil, nil
		})
	}()
	<-running
	return func() {
		close(unblock)
		if err := <-errc; err != nil {
			t.Errorf("stalling write: %v", err)
		}
	}
}

// testPanicInApply: a panicking fn panics again in its caller, with the same
// value, and the other writes of its batch commit. The suite cannot see the
// commit queue, so it queues the writes behind a stalled one, waits a
// little longer at each attempt, and requires that at least one attempt
// put all three in one batch (one commit after the stall's, per Stats).
func testPanicInApply(t *testing.T, open func() (store.Engine, error)) {
	const attempts = 10
	e := mustOpen(t, open)
	ctx := context.Background()
	for attempt := 1; ; attempt++ {
		good1, good2, doomed := fmt.Sprint("good1-", attempt), fmt.Sprint("good2-", attempt), fmt.Sprint("panic-", attempt)
		before := e.Stats()
		release := stall(t, e)
		var wg sync.WaitGroup
		var err1, err2 error
		var recovered any
		wg.Go(func() { err1 = set(e, store.Objects, good1, "1") })
		wg.Go(func() {
			defer func() { recovered = recover() }()
			_ = e.Apply(ctx, store.Objects, []byte(doomed), func([]byte) ([]byte, error) { panic("boom") })
		})
		wg.Go(func() { err2 = set(e, store.Objects, good2, "2") })
		time.Sleep(time.Duration(attempt) * time.Millisecond) // for the three to queue
		release()
		wg.Wait()
		if recovered != "boom" {
			t.Fatalf("the caller of a panicking fn recovered %v, want boom", recovered)
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("the other writes: %v, %v", err1, err2)
		}
		wantValue(t, e, store.Objects, good1, "1")
		wantValue(t, e, store.Objects, good2, "2")
		wantAbsent(t, e, store.Objects, doomed)
		after := e.Stats()
		commits, writes := after.Commits-before.Commits, after.Writes-before.Writes
		if commits == 2 && writes == 4 {
			return // the stall's commit, and one for the three
		}
		if attempt == attempts {
			t.Fatalf("in %d attempts the three writes never shared a batch: last, %d commits carried %d writes", attempts, commits, writes)
		}
	}
}

// testCancelWhileQueued: a write whose ctx ends while it waits behind a busy
// commit loop returns ctx.Err(), and its fn never runs.
func testCancelWhileQueued(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	release := stall(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	errc := make(chan error, 1)
	go func() {
		errc <- e.Apply(ctx, store.Objects, []byte("k"), func([]byte) ([]byte, error) {
			ran.Store(true)
			return []byte("v"), nil
		})
	}()
	time.Sleep(time.Millisecond) // usually queued by now; either way it cannot commit
	cancel()
	err := <-errc
	release()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Apply cancelled while queued = %v, want context.Canceled", err)
	}
	mustSet(t, e, store.Objects, "after", "v") // the loop has passed the cancelled write
	if ran.Load() {
		t.Error("the cancelled write's function ran")
	}
	wantAbsent(t, e, store.Objects, "k")
}
