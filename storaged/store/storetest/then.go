package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
)

// testApplyThen: then runs once, with true, before ApplyThen returns, for
// a write that changed something; not for one whose fn returned nil or an
// error; and a nil then is allowed.
func testApplyThen(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	var calls []bool
	then := func(ok bool) { calls = append(calls, ok) }
	err := e.ApplyThen(ctx, store.Objects, []byte("k"), func([]byte) ([]byte, func(bool), error) {
		return []byte("v"), then, nil
	})
	if err != nil || !slices.Equal(calls, []bool{true}) {
		t.Fatalf("a committed write: err %v, then called with %v; want nil and [true]", err, calls)
	}
	wantValue(t, e, store.Objects, "k", "v")
	calls = nil
	if err := e.ApplyThen(ctx, store.Objects, []byte("k"), func([]byte) ([]byte, func(bool), error) { return nil, then, nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := e.ApplyThen(ctx, store.Objects, []byte("k"), func([]byte) ([]byte, func(bool), error) { return []byte("x"), then, boom }); !errors.Is(err, boom) {
		t.Fatalf("fn's error: got %v", err)
	}
	if len(calls) != 0 {
		t.Fatalf("then ran for writes that changed nothing: %v", calls)
	}
	if err := e.ApplyThen(ctx, store.Objects, []byte("k"), func([]byte) ([]byte, func(bool), error) { return []byte("w"), nil, nil }); err != nil {
		t.Fatalf("a nil then: %v", err)
	}
	wantValue(t, e, store.Objects, "k", "w")
	if err := e.ApplyThen(ctx, store.Objects, []byte("k"), nil); err == nil {
		t.Fatal("ApplyThen with a nil function succeeded")
	}
}

// testThenOrder: the fns and thens of concurrent writers run one at a time
// (a plain counter they share needs no lock), each then after its fn, and
// within a batch in the batch's order.
func testThenOrder(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	makeRoom(t, e)
	release := stall(t, e)
	const writers = 16
	var (
		mu     sync.Mutex
		events []string
		shared int // touched only by fns and thens, without a lock
	)
	record := func(s string) {
		mu.Lock()
		events = append(events, s)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			err := e.ApplyThen(context.Background(), store.Objects, fmt.Appendf(nil, "k%02d", i), func([]byte) ([]byte, func(bool), error) {
				shared++
				record(fmt.Sprintf("fn %d", i))
				return []byte("v"), func(ok bool) {
					shared++
					record(fmt.Sprintf("then %d %v", i, ok))
				}, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, e, writers)
	release()
	wg.Wait()
	if shared != 2*writers {
		t.Fatalf("fns and thens ran %d times, want %d", shared, 2*writers)
	}
	// Every fn of a batch runs before its thens, and the thens follow the
	// fns' order.
	var fns, thens []string
	for _, ev := range events {
		var i int
		var ok bool
		if _, err := fmt.Sscanf(ev, "then %d %v", &i, &ok); err == nil {
			if !ok {
				t.Fatalf("then of a committed write called with false: %v", events)
			}
			thens = append(thens, fmt.Sprint(i))
			continue
		}
		fmt.Sscanf(ev, "fn %d", &i)
		fns = append(fns, fmt.Sprint(i))
	}
	if !slices.Equal(fns, thens) {
		t.Fatalf("thens ran in another order than their fns:\nfns   %v\nthens %v", fns, thens)
	}
}

// waitQueued gives n writers, goroutines about to queue behind a stalled
// commit loop, time to queue: the suite cannot see the queue, so it only
// lets the scheduler run. Writers that queue later form another batch,
// which the ordering checks allow.
func waitQueued(t *testing.T, e store.Engine, n int) {
	t.Helper()
	for range 100 * n {
		runtime.Gosched()
	}
}

// testCompareAndDeleteThen: then runs, with true, only when the delete
// matched.
func testCompareAndDeleteThen(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	mustSet(t, e, store.Hints, "k", "v1")
	var calls []bool
	then := func(ok bool) { calls = append(calls, ok) }
	if deleted, err := e.CompareAndDeleteThen(ctx, store.Hints, []byte("k"), []byte("v0"), then); err != nil || deleted || len(calls) != 0 {
		t.Fatalf("mismatch: deleted %v, err %v, then %v; want false, nil, not called", deleted, err, calls)
	}
	if deleted, err := e.CompareAndDeleteThen(ctx, store.Hints, []byte("absent"), []byte("v1"), then); err != nil || deleted || len(calls) != 0 {
		t.Fatalf("absent key: deleted %v, err %v, then %v; want false, nil, not called", deleted, err, calls)
	}
	if deleted, err := e.CompareAndDeleteThen(ctx, store.Hints, []byte("k"), []byte("v1"), then); err != nil || !deleted || !slices.Equal(calls, []bool{true}) {
		t.Fatalf("match: deleted %v, err %v, then %v; want true, nil, [true]", deleted, err, calls)
	}
	wantAbsent(t, e, store.Hints, "k")
}
