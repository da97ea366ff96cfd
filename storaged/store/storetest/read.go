package storetest

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalkv/shoal/storaged/store"
)

// testGetReturnsCopy: Get's value belongs to the caller; an absent key is
// ErrNotFound.
func testGetReturnsCopy(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	mustSet(t, e, store.Objects, "k", "v1")
	v, err := e.Get(store.Objects, []byte("k"))
	if err != nil || string(v) != "v1" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	v[0] = 'X'
	_ = append(v[:1], "YYYY"...) // whatever capacity the copy has is the caller's too
	wantValue(t, e, store.Objects, "k", "v1")
	wantAbsent(t, e, store.Objects, "absent")
	wantAbsent(t, e, store.Meta, "k")
}

// makeRoom writes and deletes a large value and then a small one, so that
// the writes a test makes while a View is open need no new space: bbolt
// cannot grow its file while a read transaction is open (the commit would
// wait for the View, which waits for the commit).
func makeRoom(t *testing.T, e store.Engine) {
	t.Helper()
	mustSet(t, e, store.Objects, "room", strings.Repeat("r", 1<<20))
	if err := e.Delete(context.Background(), store.Objects, []byte("room")); err != nil {
		t.Fatal(err)
	}
	mustSet(t, e, store.Meta, "room", "made") // frees the pages the delete released
}

// testViewSnapshot: writes committed while a View is open do not change
// what it sees, and are visible to later reads.
func testViewSnapshot(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	makeRoom(t, e)
	mustSet(t, e, store.Hints, "a", "old")
	mustSet(t, e, store.Hints, "b", "old")
	mustSet(t, e, store.Objects, "a", "old")
	scan := func(v store.View) string {
		var got []string
		err := v.Scan(store.Hints, nil, nil, func(k, val []byte) bool {
			got = append(got, string(k)+"="+string(val))
			return true
		})
		if err != nil {
			t.Errorf("Scan: %v", err)
		}
		return strings.Join(got, ",")
	}
	written := make(chan error, 1)
	received := false
	err := e.View(func(v store.View) error {
		before := scan(v)
		go func() {
			ctx := context.Background()
			written <- errors.Join(
				set(e, store.Hints, "a", "new"),
				e.Delete(ctx, store.Hints, []byte("b")),
				set(e, store.Hints, "c", "new"),
				set(e, store.Objects, "a", "new"))
		}()
		select {
		case err := <-written:
			received = true
			if err != nil {
				t.Errorf("writes during a View: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("writes did not complete while a View was open")
			return nil
		}
		if after := scan(v); after != before || before != "a=old,b=old" {
			t.Errorf("the snapshot changed: scanned %q, then %q after writes; want a=old,b=old both times", before, after)
		}
		if val, err := v.Get(store.Objects, []byte("a")); err != nil || string(val) != "old" {
			t.Errorf("View.Get(objects, a) after a write = %q, %v; want old", val, err)
		}
		if val, err := v.Get(store.Hints, []byte("c")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("View.Get(hints, c) written after the snapshot = %q, %v; want ErrNotFound", val, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !received { // the writes outlived a timed-out wait
		if err := <-written; err != nil {
			t.Errorf("writes after a View: %v", err)
		}
	}
	wantValue(t, e, store.Hints, "a", "new")
	wantAbsent(t, e, store.Hints, "b")
	wantValue(t, e, store.Hints, "c", "new")
	wantValue(t, e, store.Objects, "a", "new")
}

// testViewScan: Scan's from, prefix and stop semantics.
func testViewScan(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	for _, k := range []string{"b1", "a", "b2", "c", "b", "b\x00", "b\xff", "ba"} {
		mustSet(t, e, store.Hints, k, "v"+k)
	}
	mustSet(t, e, store.Objects, "b1", "object")
	mustSet(t, e, store.Meta, "a0", "meta")
	scan := func(v store.View, from, prefix string, limit int) string {
		var got []string
		var fromB, prefixB []byte
		if from != "" {
			fromB = []byte(from)
		}
		if prefix != "" {
			prefixB = []byte(prefix)
		}
		err := v.Scan(store.Hints, fromB, prefixB, func(k, val []byte) bool {
			if string(val) != "v"+string(k) {
				t.Errorf("value of %q = %q", k, val)
			}
			got = append(got, string(k))
			return len(got) < limit
		})
		if err != nil {
			t.Errorf("Scan: %v", err)
		}
		return strings.Join(got, ",")
	}
	err := e.View(func(v store.View) error {
		for _, tc := range []struct {
			from, prefix string
			limit        int
			want         string
		}{
			{"", "", 100, "a,b,b\x00,b1,b2,ba,b\xff,c"},
			{"", "", 2, "a,b"},
			{"", "", 1, "a"},
			{"b1", "", 100, "b1,b2,ba,b\xff,c"},
			{"b0", "", 100, "b1,b2,ba,b\xff,c"},
			{"bb", "", 100, "b\xff,c"},
			{"", "b", 100, "b,b\x00,b1,b2,ba,b\xff"},
			{"", "b", 3, "b,b\x00,b1"},
			{"b1", "b", 100, "b1,b2,ba,b\xff"},
			{"a", "b", 100, "b,b\x00,b1,b2,ba,b\xff"},
			{"", "b1", 100, "b1"},
			{"", "b\xff", 100, "b\xff"},
			{"c", "b", 100, ""},
			{"", "d", 100, ""},
			{"", "0", 100, ""},
			{"zz", "", 100, ""},
		} {
			if got := scan(v, tc.from, tc.prefix, tc.limit); got != tc.want {
				t.Errorf("Scan(from %q, prefix %q, limit %d) = %q, want %q", tc.from, tc.prefix, tc.limit, got, tc.want)
			}
		}
		if val, err := v.Get(store.Objects, []byte("b1")); err != nil || string(val) != "object" {
			t.Errorf("View.Get(objects, b1) = %q, %v", val, err)
		}
		if _, err := v.Get(store.Objects, []byte("a")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("View.Get of an absent key: %v, want ErrNotFound", err)
		}
		calls := 0
		if err := v.Scan(store.Objects, nil, []byte("z"), func(k, val []byte) bool { calls++; return true }); err != nil || calls != 0 {
			t.Errorf("Scan of an empty range: %v after %d calls", err, calls)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testViewError: View returns fn's error.
func testViewError(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	stop := errors.New("stop")
	if err := e.View(func(store.View) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("View = %v, want fn's error", err)
	}
	if err := e.View(func(store.View) error { return nil }); err != nil {
		t.Errorf("View = %v, want nil", err)
	}
}

// testForEachOrder: ForEach visits every key of one bucket in byte order,
// with its value.
func testForEachOrder(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	want := []string{"\x00", "0", "A", "B", "a", "a\x00", "aa", "ab", "b", "\x7f", "\xff", "\xff\x00"}
	keys := slices.Clone(want)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys {
		mustSet(t, e, store.Hints, k, "v"+k)
	}
	mustSet(t, e, store.Objects, "other", "x")
	var got []string
	err := e.ForEach(store.Hints, func(k, v []byte) error {
		if string(v) != "v"+string(k) {
			t.Errorf("value of %q = %q", k, v)
		}
		got = append(got, string(k))
		return nil
	})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ForEach keys = %q, %v; want %q", got, err, want)
	}
	if !slices.IsSortedFunc(want, func(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }) {
		t.Fatal("the test's own keys are not in byte order")
	}
	calls := 0
	if err := e.ForEach(store.Objects, func(k, v []byte) error { calls++; return nil }); err != nil || calls != 1 {
		t.Errorf("ForEach(objects): %v after %d calls, want 1", err, calls)
	}
}

// testForEachStops: ForEach stops at fn's first error and returns it; an
// empty bucket calls fn never.
func testForEachStops(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	for _, k := range []string{"c", "a", "b"} {
		mustSet(t, e, store.Hints, k, "v")
	}
	stop := errors.New("stop")
	var seen []string
	err := e.ForEach(store.Hints, func(k, v []byte) error {
		seen = append(seen, string(k))
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(seen, []string{"a", "b"}) {
		t.Errorf("ForEach with fn failing at the second key: %v after %q; want stop after a, b", err, seen)
	}
	calls := 0
	if err := e.ForEach(store.Objects, func(k, v []byte) error { calls++; return stop }); err != nil || calls != 0 {
		t.Errorf("ForEach of an empty bucket: %v after %d calls; want nil, none", err, calls)
	}
}

// testCount: Count follows writes and deletes, per bucket.
func testCount(t *testing.T, open func() (store.Engine, error)) {
	e := mustOpen(t, open)
	for _, b := range []store.Bucket{store.Objects, store.Hints} {
		wantCount(t, e, b, 0)
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		mustSet(t, e, store.Hints, k, "v")
	}
	mustSet(t, e, store.Hints, "a", "overwritten")
	mustSet(t, e, store.Objects, "x", "v")
	if err := e.Delete(context.Background(), store.Hints, []byte("c")); err != nil {
		t.Fatal(err)
	}
	wantCount(t, e, store.Hints, 3)
	wantCount(t, e, store.Objects, 1)
}
