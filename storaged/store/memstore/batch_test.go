package memstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
)

// These tests see the commit queue, to build one batch for certain.

func openQuiet(t *testing.T, d *Disk, opts Options) *Store {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := d.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// stall occupies the commit loop with a write whose function blocks until
// release is called, and returns once that function runs. release returns
// the stalling write's error.
func stall(t *testing.T, s *Store) (release func() error) {
	t.Helper()
	running, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.Apply(context.Background(), store.Meta, []byte("stall"), func([]byte) ([]byte, error) {
			close(running)
			<-unblock
			return nil, nil
		})
	}()
	<-running
	return func() error {
		close(unblock)
		return <-errc
	}
}

// waitQueued yields until n requests wait in the commit queue.
func waitQueued(s *Store, n int) {
	for len(s.queue) < n {
		runtime.Gosched()
	}
}

// batchOf runs the calls concurrently as one batch, behind a stall, and
// returns their errors.
func batchOf(t *testing.T, s *Store, calls ...func() error) []error {
	t.Helper()
	release := stall(t, s)
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() { errs[i] = c() })
	}
	waitQueued(s, len(calls))
	if err := release(); err != nil {
		t.Errorf("stalling write: %v", err)
	}
	wg.Wait()
	return errs
}

func setter(s *Store, key, value string) func() error {
	return func() error {
		return s.Apply(context.Background(), store.Objects, []byte(key), func([]byte) ([]byte, error) {
			return []byte(value), nil
		})
	}
}

// TestPanicSparesBatch: in one batch, a panicking function panics in its
// caller, a failing one returns its error, the others commit.
func TestPanicSparesBatch(t *testing.T) {
	s := openQuiet(t, NewDisk(), Options{})
	fnErr := errors.New("fn says no")
	before := s.Stats()
	errs := batchOf(t, s,
		setter(s, "good1", "1"),
		func() (err error) {
			defer func() {
				if p := recover(); p != "boom" {
					err = fmt.Errorf("recovered %v, want boom", p)
				}
			}()
			_ = s.Apply(context.Background(), store.Objects, []byte("panic"), func([]byte) ([]byte, error) { panic("boom") })
			return errors.New("Apply returned instead of panicking")
		},
		func() error {
			err := s.Apply(context.Background(), store.Objects, []byte("bad"), func([]byte) ([]byte, error) { return []byte("x"), fnErr })
			if err != fnErr {
				return fmt.Errorf("failing fn: %v, want its error", err)
			}
			return nil
		},
		setter(s, "good2", "2"),
	)
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	for k, want := range map[string]string{"good1": "1", "good2": "2"} {
		if v, err := s.Get(store.Objects, []byte(k)); err != nil || string(v) != want {
			t.Errorf("%s = %q, %v", k, v, err)
		}
	}
	if n, _ := s.Count(store.Objects); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	after := s.Stats()
	if c, w := after.Commits-before.Commits, after.Writes-before.Writes; c != 2 || w != 5 {
		t.Errorf("%d commits carried %d writes; want the stall's and one of 4", c, w)
	}
}

// TestRollbackFailsWholeBatch: a batch rolled back by FailCommits fails
// every writer with ErrCommit, even one whose function failed, and hides
// all of it.
func TestRollbackFailsWholeBatch(t *testing.T) {
	d := NewDisk()
	s := openQuiet(t, d, Options{})
	if err := setter(s, "k", "old")(); err != nil {
		t.Fatal(err)
	}
	release := stall(t, s)
	d.FailCommits(2, false) // the stall's batch, being applied, is the first
	errs := make([]error, 3)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = setter(s, "k", "new")() })
	wg.Go(func() { errs[1] = setter(s, "a", "new")() })
	wg.Go(func() {
		errs[2] = s.Apply(context.Background(), store.Objects, []byte("b"), func([]byte) ([]byte, error) {
			return nil, errors.New("fn says no")
		})
	})
	waitQueued(s, 3)
	if err := release(); !errors.Is(err, store.ErrCommit) {
		t.Errorf("stalling write: %v, want ErrCommit", err)
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, store.ErrCommit) || !errors.Is(err, ErrInjected) || errors.Is(err, store.ErrBroken) {
			t.Errorf("write %d: %v; want ErrCommit with ErrInjected", i, err)
		} else if !strings.Contains(err.Error(), "batch of 3 writes rolled back") {
			t.Errorf("write %d: %v does not say what failed", i, err)
		}
	}
	if v, _ := s.Get(store.Objects, []byte("k")); string(v) != "old" {
		t.Errorf("k = %q, want old", v)
	}
	if st := s.Stats(); st.FailedCommits != 2 || st.Commits != 1 {
		t.Errorf("Stats = %+v, want one commit and two failed", st)
	}
	if err := setter(s, "a", "later")(); err != nil {
		t.Errorf("write after the failures: %v", err)
	}
}

// TestModifiedOldPanics: an Apply function that writes into old breaks the
// contract (bbolt hands it read-only memory): its caller panics, and the
// stored value is unharmed.
func TestModifiedOldPanics(t *testing.T) {
	s := openQuiet(t, NewDisk(), Options{})
	if err := setter(s, "k", "abc")(); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "modified old") {
				t.Errorf("recovered %v, want a panic about modifying old", p)
			}
		}()
		_ = s.Apply(context.Background(), store.Objects, []byte("k"), func(old []byte) ([]byte, error) {
			old[0] = 'X'
			return old, nil
		})
	}()
	if v, _ := s.Get(store.Objects, []byte("k")); string(v) != "abc" {
		t.Errorf("k = %q, want abc", v)
	}
}
