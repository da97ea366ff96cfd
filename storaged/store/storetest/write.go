package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
)

// testApplySeesOldValue: fn sees nil for an absent key, then the value the
// previous write left.
func testApplySeesOldValue(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	var seen []string
	record := func(next string) func([]byte) ([]byte, error) {
		return func(old []byte) ([]byte, error) {
			if old == nil {
				seen = append(seen, "<nil>")
			} else {
				seen = append(seen, string(old))
			}
			return []byte(next), nil
		}
	}
	for _, next := range []string{"v1", "v2", "v3"} {
		if err := e.Apply(context.Background(), store.Objects, []byte("k"), record(next)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := seen, []string{"<nil>", "v1", "v2"}; !slices.Equal(got, want) {
		t.Errorf("fn saw %q, want %q", got, want)
	}
	wantValue(t, e, store.Objects, "k", "v3")
	wantAbsent(t, e, store.Hints, "k") // buckets are separate key spaces
}

// testApplyCopiesResult: the store keeps a copy of what fn returns, so the
// caller may reuse its slice, and fn may return old or a slice built on it.
func testApplyCopiesResult(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	mine := []byte("mine")
	if err := e.Apply(ctx, store.Objects, []byte("k"), func([]byte) ([]byte, error) { return mine, nil }); err != nil {
		t.Fatal(err)
	}
	copy(mine, "XXXX")
	wantValue(t, e, store.Objects, "k", "mine")

	for _, tc := range []struct {
		name string
		fn   func(old []byte) ([]byte, error)
		want string
	}{
		{"old itself", func(old []byte) ([]byte, error) { return old, nil }, "mine"},
		{"append to old", func(old []byte) ([]byte, error) { return append(old, "+1"...), nil }, "mine+1"},
		{"a slice of old", func(old []byte) ([]byte, error) { return old[:2], nil }, "mi"},
		{"a fresh value", put("fresh"), "fresh"},
	} {
		if err := e.Apply(ctx, store.Objects, []byte("k"), tc.fn); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := mustGet(t, e, store.Objects, "k"); got != tc.want {
			t.Errorf("after fn returned %s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// testApplyNilLeavesKey: fn returning nil changes nothing, for a present or
// an absent key.
func testApplyNilLeavesKey(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	mustSet(t, e, store.Objects, "k", "v")
	keep := func([]byte) ([]byte, error) { return nil, nil }
	if err := e.Apply(ctx, store.Objects, []byte("k"), keep); err != nil {
		t.Fatal(err)
	}
	wantValue(t, e, store.Objects, "k", "v")
	if err := e.Apply(ctx, store.Objects, []byte("absent"), keep); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, e, store.Objects, "absent")
	wantCount(t, e, store.Objects, 1)
}

// testApplyFuncError: fn's error comes back unchanged and nothing is
// written for the call.
func testApplyFuncError(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	mustSet(t, e, store.Objects, "k", "old")
	fnErr := errors.New("fn says no")
	refuse := func([]byte) ([]byte, error) { return []byte("new"), fnErr }
	if err := e.Apply(ctx, store.Objects, []byte("k"), refuse); err != fnErr {
		t.Errorf("Apply with a failing fn = %v, want fn's error unchanged", err)
	}
	wantValue(t, e, store.Objects, "k", "old")
	if err := e.Apply(ctx, store.Objects, []byte("absent"), refuse); err != fnErr {
		t.Errorf("Apply with a failing fn on an absent key = %v, want fn's error unchanged", err)
	}
	wantAbsent(t, e, store.Objects, "absent")
	// The store keeps serving.
	mustSet(t, e, store.Objects, "k", "later")
	wantValue(t, e, store.Objects, "k", "later")
}

// testApplyNilFunc: Apply refuses a nil function and writes nothing.
func testApplyNilFunc(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	if err := e.Apply(context.Background(), store.Objects, []byte("k"), nil); err == nil {
		t.Error("Apply with a nil function succeeded")
	}
	wantCount(t, e, store.Objects, 0)
}

// testEmptyValue: an empty value exists, unlike an absent key, for Get, for
// fn, for View.Get and Scan.
func testEmptyValue(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	mustSet(t, e, store.Objects, "empty", "")
	if v, err := e.Get(store.Objects, []byte("empty")); err != nil || v == nil || len(v) != 0 {
		t.Errorf("Get(empty) = %#v, %v; want a non-nil empty slice", v, err)
	}
	var sawNil bool
	err := e.Apply(context.Background(), store.Objects, []byte("empty"), func(old []byte) ([]byte, error) {
		sawNil = old == nil
		return nil, nil
	})
	if err != nil || sawNil {
		t.Errorf("Apply on an empty value: %v, fn saw nil %v; want a non-nil empty old", err, sawNil)
	}
	err = e.View(func(v store.View) error {
		if val, err := v.Get(store.Objects, []byte("empty")); err != nil || val == nil || len(val) != 0 {
			t.Errorf("View.Get(empty) = %#v, %v; want a non-nil empty slice", val, err)
		}
		calls := 0
		err := v.Scan(store.Objects, nil, nil, func(k, val []byte) bool {
			calls++
			if string(k) != "empty" || val == nil || len(val) != 0 {
				t.Errorf("Scan passed %q = %#v; want empty = a non-nil empty slice", k, val)
			}
			return true
		})
		if err != nil || calls != 1 {
			t.Errorf("Scan: %v after %d calls, want 1 call", err, calls)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testAtomicReadModifyWrite increments one counter from 8 goroutines, 50
// times each: no increment may be lost.
func testAtomicReadModifyWrite(t *testing.T, open func() (store.Engine, error)) {
	const writers, each = 8, 50
	e := mustOpen(t, open)
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
				if err := e.Apply(context.Background(), store.Meta, []byte("counter"), incr); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantValue(t, e, store.Meta, "counter", strconv.Itoa(writers*each))
}

// testCancelledContext: a write whose ctx has already ended returns
// ctx.Err(), never runs fn and writes nothing.
func testCancelledContext(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	mustSet(t, e, store.Objects, "k", "v")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := e.Apply(ctx, store.Objects, []byte("new"), func([]byte) ([]byte, error) {
		ran = true
		return []byte("v"), nil
	})
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Apply with a cancelled ctx = %v, fn ran %v; want context.Canceled without running fn", err, ran)
	}
	if err := e.Delete(ctx, store.Objects, []byte("k")); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a cancelled ctx = %v, want context.Canceled", err)
	}
	if ok, err := e.CompareAndDelete(ctx, store.Objects, []byte("k"), []byte("v")); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("CompareAndDelete with a cancelled ctx = %v, %v; want false, context.Canceled", ok, err)
	}
	wantAbsent(t, e, store.Objects, "new")
	wantValue(t, e, store.Objects, "k", "v")
}

// testDelete: Delete removes a key; deleting an absent key succeeds.
func testDelete(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	mustSet(t, e, store.Hints, "k", "v")
	mustSet(t, e, store.Hints, "other", "v")
	if err := e.Delete(ctx, store.Hints, []byte("k")); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, e, store.Hints, "k")
	wantValue(t, e, store.Hints, "other", "v")
	if err := e.Delete(ctx, store.Hints, []byte("never")); err != nil {
		t.Errorf("Delete of an absent key: %v", err)
	}
	if err := e.Delete(ctx, store.Objects, []byte("other")); err != nil {
		t.Errorf("Delete of a key absent from this bucket: %v", err)
	}
	wantValue(t, e, store.Hints, "other", "v")
	wantCount(t, e, store.Hints, 1)
}

// testCompareAndDelete: the delete happens only if the value matches byte
// for byte, and true comes only with a nil error.
func testCompareAndDelete(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	mustSet(t, e, store.Hints, "k", "v1")
	for _, stale := range [][]byte{[]byte("v0"), []byte("v"), []byte("v1 "), nil, {}} {
		if ok, err := e.CompareAndDelete(ctx, store.Hints, []byte("k"), stale); ok || err != nil {
			t.Errorf("CompareAndDelete(%q) of v1 = %v, %v; want false, nil", stale, ok, err)
		}
	}
	wantValue(t, e, store.Hints, "k", "v1")
	if ok, err := e.CompareAndDelete(ctx, store.Hints, []byte("k"), []byte("v1")); !ok || err != nil {
		t.Errorf("CompareAndDelete with the current value = %v, %v; want true, nil", ok, err)
	}
	wantAbsent(t, e, store.Hints, "k")
	for _, old := range [][]byte{[]byte("v1"), nil, {}} {
		if ok, err := e.CompareAndDelete(ctx, store.Hints, []byte("k"), old); ok || err != nil {
			t.Errorf("CompareAndDelete(%q) of an absent key = %v, %v; want false, nil", old, ok, err)
		}
	}
	// An empty value is a value: it matches an empty old.
	mustSet(t, e, store.Hints, "e", "")
	if ok, err := e.CompareAndDelete(ctx, store.Hints, []byte("e"), []byte{}); !ok || err != nil {
		t.Errorf("CompareAndDelete of an empty value = %v, %v; want true, nil", ok, err)
	}
	wantAbsent(t, e, store.Hints, "e")
	// The comparison copies old: changing it after the call changes nothing.
	mustSet(t, e, store.Hints, "c", "abc")
	old := []byte("abc")
	if ok, err := e.CompareAndDelete(ctx, store.Hints, []byte("c"), old); !ok || err != nil {
		t.Errorf("CompareAndDelete(abc) = %v, %v; want true, nil", ok, err)
	}
	if !bytes.Equal(old, []byte("abc")) {
		t.Errorf("CompareAndDelete changed the caller's old to %q", old)
	}
}

// testInvalidBucket: every method refuses a bucket that is not one of
// store.Buckets(), and writes nothing.
func testInvalidBucket(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	before := counts(t, e)
	for _, b := range invalidBuckets() {
		if _, err := e.Get(b, []byte("k")); !errors.Is(err, store.ErrInvalidBucket) {
			t.Errorf("Get(bucket %d): %v", b, err)
		}
		if err := e.Apply(ctx, b, []byte("k"), put("v")); !errors.Is(err, store.ErrInvalidBucket) {
			t.Errorf("Apply(bucket %d): %v", b, err)
		}
		if err := e.Delete(ctx, b, []byte("k")); !errors.Is(err, store.ErrInvalidBucket) {
			t.Errorf("Delete(bucket %d): %v", b, err)
		}
		if ok, err := e.CompareAndDelete(ctx, b, []byte("k"), nil); ok || !errors.Is(err, store.ErrInvalidBucket) {
			t.Errorf("CompareAndDelete(bucket %d): %v, %v", b, ok, err)
		}
		if err := e.ForEach(b, func(k, v []byte) error { return nil }); !errors.Is(err, store.ErrInvalidBucket) {
			t.Errorf("ForEach(bucket %d): %v", b, err)
		}
		if _, err := e.Count(b); !errors.Is(err, store.ErrInvalidBucket) {
			t.Errorf("Count(bucket %d): %v", b, err)
		}
		err := e.View(func(v store.View) error {
			if _, err := v.Get(b, []byte("k")); !errors.Is(err, store.ErrInvalidBucket) {
				t.Errorf("View.Get(bucket %d): %v", b, err)
			}
			if err := v.Scan(b, nil, nil, func(k, v []byte) bool { return true }); !errors.Is(err, store.ErrInvalidBucket) {
				t.Errorf("View.Scan(bucket %d): %v", b, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if after := counts(t, e); !slices.Equal(after, before) {
		t.Errorf("keys per bucket went from %v to %v", before, after)
	}
}

// counts returns the number of keys in each bucket, in store.Buckets() order.
func counts(t *testing.T, e store.Engine) []int {
	t.Helper()
	var out []int
	for _, b := range store.Buckets() {
		n, err := e.Count(b)
		if err != nil {
			t.Fatalf("Count(%s): %v", b, err)
		}
		out = append(out, n)
	}
	return out
}

// invalidBuckets returns Bucket values outside store.Buckets(): the zero
// Bucket, the one after the last, and the largest.
func invalidBuckets() []store.Bucket {
	valid := map[store.Bucket]bool{}
	var last store.Bucket
	for _, b := range store.Buckets() {
		valid[b] = true
		last = max(last, b)
	}
	var out []store.Bucket
	for _, b := range []store.Bucket{0, last + 1, 255} {
		if !valid[b] {
			out = append(out, b)
		}
	}
	return out
}

// testInvalidKey: an empty key or one longer than its bucket's MaxKey is
// refused everywhere, with the limit in the message; an object key of
// exactly MaxObjectKeySize bytes works.
func testInvalidKey(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	long := bytes.Repeat([]byte{'k'}, store.MaxObjectKeySize+1)
	if err := e.Apply(ctx, store.Objects, long, put("v")); err == nil || err.Error() != fmt.Sprintf("store: invalid key: %d bytes, want 1 to %d", len(long), store.MaxObjectKeySize) {
		t.Errorf("Apply(%d-byte object key) = %v; want the limit %d named", len(long), err, store.MaxObjectKeySize)
	}
	if err := e.Apply(ctx, store.Hints, long, put("v")); err != nil {
		t.Errorf("Apply(%d-byte hint key): %v; only Objects keys carry a prefix", len(long), err)
	}
	for _, key := range [][]byte{nil, {}, long, bytes.Repeat([]byte{'k'}, store.MaxKeySize+1)} {
		if _, err := e.Get(store.Objects, key); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Get(%d-byte key): %v", len(key), err)
		}
		if err := e.Apply(ctx, store.Objects, key, put("v")); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Apply(%d-byte key): %v", len(key), err)
		}
		if err := e.Delete(ctx, store.Objects, key); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Delete(%d-byte key): %v", len(key), err)
		}
		if ok, err := e.CompareAndDelete(ctx, store.Objects, key, nil); ok || !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("CompareAndDelete(%d-byte key): %v, %v", len(key), ok, err)
		}
		err := e.View(func(v store.View) error {
			if _, err := v.Get(store.Objects, key); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("View.Get(%d-byte key): %v", len(key), err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wantCount(t, e, store.Objects, 0)
	longest := bytes.Repeat([]byte{'k'}, store.MaxObjectKeySize)
	if err := e.Apply(ctx, store.Objects, longest, put("v")); err != nil {
		t.Fatalf("Apply(%d-byte key): %v", len(longest), err)
	}
	if v, err := e.Get(store.Objects, longest); err != nil || string(v) != "v" {
		t.Errorf("Get(%d-byte key) = %q, %v", len(longest), v, err)
	}
	if err := e.Delete(ctx, store.Objects, longest); err != nil {
		t.Errorf("Delete(%d-byte key): %v", len(longest), err)
	}
	wantCount(t, e, store.Objects, 0)
}

// testEpochKeyReserved: the epoch's key in Meta can be read but not written;
// the same key in another bucket is an ordinary key. So is the format
// version's key.
func testEpochKeyReserved(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	ctx := context.Background()
	key := store.EpochKey()
	if err := e.Apply(ctx, store.Meta, key, put("v")); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("Apply to the epoch key: %v, want ErrInvalidKey", err)
	}
	if err := e.Delete(ctx, store.Meta, key); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("Delete of the epoch key: %v, want ErrInvalidKey", err)
	}
	if ok, err := e.CompareAndDelete(ctx, store.Meta, key, epochBytes(e.Epoch())); ok || !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("CompareAndDelete of the epoch key: %v, %v; want false, ErrInvalidKey", ok, err)
	}
	if v, err := e.Get(store.Meta, key); err != nil || !bytes.Equal(v, epochBytes(e.Epoch())) {
		t.Errorf("Get of the epoch key = %x, %v; want %x", v, err, epochBytes(e.Epoch()))
	}
	if err := e.Apply(ctx, store.Objects, key, put("v")); err != nil {
		t.Errorf("Apply to %q in objects: %v", key, err)
	}
	wantValue(t, e, store.Objects, string(key), "v")
	format := store.FormatKey()
	if err := e.Apply(ctx, store.Meta, format, put("v")); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("Apply to the format key: %v, want ErrInvalidKey", err)
	}
	if err := e.Delete(ctx, store.Meta, format); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("Delete of the format key: %v, want ErrInvalidKey", err)
	}
	want := binary.AppendUvarint(nil, store.FormatVersion())
	if v, err := e.Get(store.Meta, format); err != nil || !bytes.Equal(v, want) {
		t.Errorf("Get of the format key = %x, %v; want %x", v, err, want)
	}
	if err := e.Apply(ctx, store.Meta, store.PartitionsKey(), put("v")); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("Apply to the partitions key: %v, want ErrInvalidKey", err)
	}
	if err := e.Delete(ctx, store.Meta, store.PartitionsKey()); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("Delete of the partitions key: %v, want ErrInvalidKey", err)
	}
}
