package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestGetApplyDelete(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	ctx := context.Background()

	wantAbsent(t, s, Objects, "k")
	if err := set(s, Objects, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, Objects, "k"); got != "v1" {
		t.Fatalf("Get = %q, want v1", got)
	}
	wantAbsent(t, s, Hints, "k") // buckets are separate key spaces

	// Get returns a copy the caller owns.
	v, _ := s.Get(Objects, []byte("k"))
	v[0] = 'X'
	if got := mustGet(t, s, Objects, "k"); got != "v1" {
		t.Fatalf("Get after mutating a returned value = %q, want v1", got)
	}

	// fn sees the current value; returning nil leaves the key unchanged.
	var seen string
	err := s.Apply(ctx, Objects, []byte("k"), func(old []byte) ([]byte, error) {
		seen = string(old)
		return nil, nil
	})
	if err != nil || seen != "v1" || mustGet(t, s, Objects, "k") != "v1" {
		t.Fatalf("no-op Apply: err %v, saw %q, value %q", err, seen, mustGet(t, s, Objects, "k"))
	}
	// fn may return old itself or a slice built on it.
	err = s.Apply(ctx, Objects, []byte("k"), func(old []byte) ([]byte, error) {
		return append(old, "+2"...), nil
	})
	if err != nil || mustGet(t, s, Objects, "k") != "v1+2" {
		t.Fatalf("append Apply: err %v, value %q", err, mustGet(t, s, Objects, "k"))
	}
	err = s.Apply(ctx, Objects, []byte("k"), func(old []byte) ([]byte, error) { return old, nil })
	if err != nil || mustGet(t, s, Objects, "k") != "v1+2" {
		t.Fatalf("identity Apply: err %v, value %q", err, mustGet(t, s, Objects, "k"))
	}

	// An empty value exists, unlike an absent key, for Get and for fn.
	if err := set(s, Objects, "empty", ""); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(Objects, []byte("empty")); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get(empty) = %#v, %v; want empty non-nil", v, err)
	}
	err = s.Apply(ctx, Objects, []byte("empty"), func(old []byte) ([]byte, error) {
		if old == nil {
			return nil, errors.New("empty value seen as absent")
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := s.Delete(ctx, Objects, []byte("k")); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, s, Objects, "k")
	if err := s.Delete(ctx, Objects, []byte("never")); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
}

func TestForEachAndCount(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	want := []string{"a", "b", "c", "d"}
	for _, k := range []string{"c", "a", "d", "b"} {
		if err := set(s, Hints, k, "v"+k); err != nil {
			t.Fatal(err)
		}
	}
	if err := set(s, Objects, "other", "x"); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := s.ForEach(Hints, func(k, v []byte) error {
		if string(v) != "v"+string(k) {
			t.Errorf("value of %q = %q", k, v)
		}
		got = append(got, string(k))
		return nil
	})
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ForEach keys = %v, %v; want %v in order", got, err, want)
	}
	stop := errors.New("stop")
	calls := 0
	err = s.ForEach(Hints, func(k, v []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("ForEach with a failing fn: %v after %d calls; want stop after 1", err, calls)
	}
	if n, err := s.Count(Hints); n != 4 || err != nil {
		t.Fatalf("Count(hints) = %d, %v; want 4", n, err)
	}
	if n, err := s.Count(Objects); n != 1 || err != nil {
		t.Fatalf("Count(objects) = %d, %v; want 1", n, err)
	}
}

func TestInvalidInput(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	ctx := context.Background()
	put := func(old []byte) ([]byte, error) { return []byte("v"), nil }

	for _, b := range []Bucket{0, 4, 255} {
		if _, err := s.Get(b, []byte("k")); !errors.Is(err, ErrInvalidBucket) {
			t.Errorf("Get(bucket %d): %v", b, err)
		}
		if err := s.Apply(ctx, b, []byte("k"), put); !errors.Is(err, ErrInvalidBucket) {
			t.Errorf("Apply(bucket %d): %v", b, err)
		}
		if err := s.Delete(ctx, b, []byte("k")); !errors.Is(err, ErrInvalidBucket) {
			t.Errorf("Delete(bucket %d): %v", b, err)
		}
		if err := s.ForEach(b, func(k, v []byte) error { return nil }); !errors.Is(err, ErrInvalidBucket) {
			t.Errorf("ForEach(bucket %d): %v", b, err)
		}
		if _, err := s.Count(b); !errors.Is(err, ErrInvalidBucket) {
			t.Errorf("Count(bucket %d): %v", b, err)
		}
	}
	for _, key := range [][]byte{nil, {}, make([]byte, MaxKeySize+1)} {
		if _, err := s.Get(Objects, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Get(%d-byte key): %v", len(key), err)
		}
		if err := s.Apply(ctx, Objects, key, put); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Apply(%d-byte key): %v", len(key), err)
		}
		if err := s.Delete(ctx, Objects, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Delete(%d-byte key): %v", len(key), err)
		}
	}
	longest := bytes.Repeat([]byte{'k'}, MaxObjectKeySize)
	if err := s.Apply(ctx, Objects, longest, put); err != nil {
		t.Errorf("Apply(%d-byte key): %v", len(longest), err)
	}
	if err := s.Apply(ctx, Meta, epochKey, put); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Apply to the reserved epoch key: %v", err)
	}
	if err := s.Delete(ctx, Meta, epochKey); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Delete of the reserved epoch key: %v", err)
	}
	if err := s.Apply(ctx, Objects, []byte("k"), nil); err == nil {
		t.Error("Apply with a nil function succeeded")
	}
	if n, _ := s.Count(Objects); n != 1 {
		t.Errorf("Count = %d after one valid write", n)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		ok   bool
	}{
		{Options{}, true},
		{Options{MaxBatch: 1}, true},
		{Options{MaxBatch: MaxBatchLimit}, true},
		{Options{MaxBatch: -1}, false},
		{Options{MaxBatch: MaxBatchLimit + 1}, false},
		{Options{GroupWait: -1}, true},
		{Options{GroupWait: MaxGroupWait}, true},
		{Options{GroupWait: MaxGroupWait + 1}, false},
	} {
		if err := tc.opts.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v", tc.opts, err)
		}
	}
	if _, err := Open(t.TempDir(), Options{MaxBatch: -1}); err == nil {
		t.Error("Open with invalid options succeeded")
	}
}

// TestReadModifyWriteIsAtomic increments one counter from 64 goroutines.
func TestReadModifyWriteIsAtomic(t *testing.T) {
	const writers, each = 64, 50
	s := openT(t, t.TempDir(), Options{NoSync: true})
	incr := func(old []byte) ([]byte, error) {
		n := 0
		if old != nil {
			var err error
			if n, err = strconv.Atoi(string(old)); err != nil {
				return nil, err
			}
		}
		return strconv.AppendInt(nil, int64(n+1), 10), nil
	}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				if err := s.Apply(context.Background(), Meta, []byte("counter"), incr); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, want := mustGet(t, s, Meta, "counter"), strconv.Itoa(writers*each); got != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
}

// TestCloseFinishesQueuedWrites races writers against Close: every write
// either fails with ErrClosed or is durable.
func TestCloseFinishesQueuedWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 32
	acked := make([][]string, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				err := set(s, Objects, key, key)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				acked[w] = append(acked[w], key)
				if i == 3 && w == 0 {
					go s.Close() // joined below by the second Close
				}
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := set(s, Objects, "late", "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
	if err := s.Delete(context.Background(), Objects, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Delete after Close: %v", err)
	}
	if _, err := s.Get(Objects, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if err := s.ForEach(Objects, func(k, v []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("ForEach after Close: %v", err)
	}
	if _, err := s.Count(Objects); !errors.Is(err, ErrClosed) {
		t.Errorf("Count after Close: %v", err)
	}

	s = openT(t, dir, Options{})
	n := 0
	for _, keys := range acked {
		for _, k := range keys {
			if got := mustGet(t, s, Objects, k); got != k {
				t.Fatalf("%s = %q", k, got)
			}
			n++
		}
	}
	t.Logf("%d writes acknowledged before Close, all present", n)
}
