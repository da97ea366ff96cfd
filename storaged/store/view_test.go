package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestViewGetAndScan(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	for _, k := range []string{"b1", "a", "b2", "c", "b"} {
		if err := set(s, Hints, k, "v"+k); err != nil {
			t.Fatal(err)
		}
	}
	if err := set(s, Objects, "b1", "object"); err != nil {
		t.Fatal(err)
	}
	scan := func(v View, from, prefix string, limit int) string {
		var got []string
		err := v.Scan(Hints, []byte(from), []byte(prefix), func(k, val []byte) bool {
			if string(val) != "v"+string(k) {
				t.Errorf("value of %q = %q", k, val)
			}
			got = append(got, string(k))
			return len(got) < limit
		})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		return strings.Join(got, ",")
	}
	err := s.View(func(v View) error {
		if val, err := v.Get(Objects, []byte("b1")); err != nil || string(val) != "object" {
			t.Errorf("Get(objects, b1) = %q, %v", val, err)
		}
		if _, err := v.Get(Objects, []byte("a")); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get of an absent key: %v, want ErrNotFound", err)
		}
		for _, tc := range []struct {
			from, prefix string
			limit        int
			want         string
		}{
			{"", "", 100, "a,b,b1,b2,c"},
			{"", "", 2, "a,b"},
			{"b1", "", 100, "b1,b2,c"},
			{"bb", "", 100, "c"},
			{"", "b", 100, "b,b1,b2"},
			{"b1", "b", 100, "b1,b2"},
			{"a", "b", 100, "b,b1,b2"},
			{"", "b1", 100, "b1"},
			{"", "d", 100, ""},
			{"zz", "", 100, ""},
		} {
			if got := scan(v, tc.from, tc.prefix, tc.limit); got != tc.want {
				t.Errorf("Scan(from %q, prefix %q, limit %d) = %q, want %q", tc.from, tc.prefix, tc.limit, got, tc.want)
			}
		}
		if err := v.Scan(Bucket(9), nil, nil, func(k, v []byte) bool { return true }); !errors.Is(err, ErrInvalidBucket) {
			t.Errorf("Scan of an invalid bucket: %v", err)
		}
		if _, err := v.Get(Hints, nil); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Get of an empty key: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	if err := s.View(func(View) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("View returns fn's error: got %v", err)
	}
}

func TestViewAfterClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.View(func(View) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("View after Close: %v, want ErrClosed", err)
	}
}

func TestCompareAndDelete(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	ctx := context.Background()
	if err := set(s, Hints, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndDelete(ctx, Hints, []byte("k"), []byte("v0")); ok || err != nil {
		t.Fatalf("CompareAndDelete with a stale value = %v, %v; want false, nil", ok, err)
	}
	if got := mustGet(t, s, Hints, "k"); got != "v1" {
		t.Fatalf("after a failed compare, value = %q, want v1", got)
	}
	if ok, err := s.CompareAndDelete(ctx, Hints, []byte("k"), []byte("v1")); !ok || err != nil {
		t.Fatalf("CompareAndDelete with the current value = %v, %v; want true, nil", ok, err)
	}
	wantAbsent(t, s, Hints, "k")
	if ok, err := s.CompareAndDelete(ctx, Hints, []byte("k"), []byte("v1")); ok || err != nil {
		t.Fatalf("CompareAndDelete of an absent key = %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.CompareAndDelete(ctx, Hints, []byte("k"), nil); ok || err != nil {
		t.Fatalf("CompareAndDelete(nil) of an absent key = %v, %v; want false, nil", ok, err)
	}
	// An empty value is a value: it matches an empty old, not an absent key.
	if err := set(s, Hints, "e", ""); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndDelete(ctx, Hints, []byte("e"), []byte{}); !ok || err != nil {
		t.Fatalf("CompareAndDelete of an empty value = %v, %v; want true, nil", ok, err)
	}
	if _, err := s.CompareAndDelete(ctx, Meta, []byte("epoch"), nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("CompareAndDelete of the epoch: %v, want ErrInvalidKey", err)
	}
}

// TestCompareAndDeleteOrdersWithWrites: a change queued before the
// conditional delete, in the same batch, makes it fail.
func TestCompareAndDeleteOrdersWithWrites(t *testing.T) {
	s := openT(t, t.TempDir(), Options{NoSync: true})
	ctx := context.Background()
	if err := set(s, Hints, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	release := stall(t, s)
	setErr := make(chan error, 1)
	go func() { setErr <- set(s, Hints, "k", "v2") }()
	waitQueued(s, 1)
	type result struct {
		ok  bool
		err error
	}
	cad := make(chan result, 1)
	go func() {
		ok, err := s.CompareAndDelete(ctx, Hints, []byte("k"), []byte("v1"))
		cad <- result{ok, err}
	}()
	waitQueued(s, 2)
	release()
	if err := <-setErr; err != nil {
		t.Fatal(err)
	}
	if r := <-cad; r.ok || r.err != nil {
		t.Fatalf("CompareAndDelete after a concurrent change = %v, %v; want false, nil", r.ok, r.err)
	}
	if got := mustGet(t, s, Hints, "k"); got != "v2" {
		t.Fatalf("value = %q, want v2 kept", got)
	}
}
