package memstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/storaged/store/memstore"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openT opens a Store on d, quiet unless opts says otherwise, and closes it
// when the test ends.
func openT(t testing.TB, d *memstore.Disk, opts memstore.Options) *memstore.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	s, err := d.Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// set stores value under key in Objects.
func set(s *memstore.Store, key, value string) error {
	return s.Apply(context.Background(), store.Objects, []byte(key), func([]byte) ([]byte, error) {
		return []byte(value), nil
	})
}

// mustSet stores value under key in Objects, failing the test on an error.
func mustSet(t testing.TB, s *memstore.Store, key, value string) {
	t.Helper()
	if err := set(s, key, value); err != nil {
		t.Fatalf("set %q: %v", key, err)
	}
}

// keys returns the keys of Objects, in order.
func keys(t testing.TB, s *memstore.Store) []string {
	t.Helper()
	var out []string
	err := s.ForEach(store.Objects, func(k, v []byte) error {
		out = append(out, string(k))
		return nil
	})
	if err != nil {
		t.Fatalf("ForEach: %v", err)
	}
	return out
}

// wantValue fails the test unless key in Objects holds want.
func wantValue(t testing.TB, s *memstore.Store, key, want string) {
	t.Helper()
	if v, err := s.Get(store.Objects, []byte(key)); err != nil || string(v) != want {
		t.Errorf("%q = %q, %v; want %q", key, v, err, want)
	}
}

// wantAbsent fails the test unless key is absent from Objects.
func wantAbsent(t testing.TB, s *memstore.Store, key string) {
	t.Helper()
	if v, err := s.Get(store.Objects, []byte(key)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%q = %q, %v; want ErrNotFound", key, v, err)
	}
}
