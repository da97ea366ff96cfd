package storetest

import (
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
)

// epochBytes is how an epoch is recorded under store.EpochKey().
func epochBytes(e uint64) []byte { return binary.BigEndian.AppendUint64(nil, e) }

// testEpoch: a new store has a nonzero epoch and is fresh; reopened, it has
// the same epoch and is not.
func testEpoch(t *testing.T, open func() (store.Engine, error)) {
	e, err := open()
	if err != nil {
		t.Fatal(err)
	}
	epoch := e.Epoch()
	if epoch == 0 || !e.Fresh() {
		t.Errorf("new store: Epoch %d, Fresh %v; want nonzero and true", epoch, e.Fresh())
	}
	closeT(t, e)
	for range 2 {
		e = mustOpen(t, open)
		if e.Epoch() != epoch || e.Fresh() {
			t.Errorf("reopened store: Epoch %d, Fresh %v; want %d and false", e.Epoch(), e.Fresh(), epoch)
		}
		if v, err := e.Get(store.Meta, store.EpochKey()); err != nil || string(v) != string(epochBytes(epoch)) {
			t.Errorf("recorded epoch = %x, %v; want %x", v, err, epochBytes(epoch))
		}
		closeT(t, e)
	}
}

// testDurable: what was committed before Close is there after reopening,
// and nothing else.
func testDurable(t *testing.T, h Harness) {
	open := h.Open
	e := mustOpen(t, open)
	ctx := context.Background()
	mustSet(t, e, store.Objects, "kept", "v1")
	mustSet(t, e, store.Objects, "overwritten", "old")
	mustSet(t, e, store.Objects, "overwritten", "new")
	mustSet(t, e, store.Objects, "deleted", "v")
	if err := e.Delete(ctx, store.Objects, []byte("deleted")); err != nil {
		t.Fatal(err)
	}
	mustSet(t, e, store.Hints, "hint", "h")
	mustSet(t, e, store.Hints, "cad", "c")
	if ok, err := e.CompareAndDelete(ctx, store.Hints, []byte("cad"), []byte("c")); !ok || err != nil {
		t.Fatalf("CompareAndDelete = %v, %v", ok, err)
	}
	mustSet(t, e, store.Meta, "empty", "")
	closeT(t, e)

	e = mustOpen(t, open)
	want := map[store.Bucket]map[string]string{
		store.Objects: {"kept": "v1", "overwritten": "new"},
		store.Hints:   {"hint": "h"},
		store.Meta: {"empty": "", string(store.EpochKey()): string(epochBytes(e.Epoch())),
			string(store.FormatKey()):     string(binary.AppendUvarint(nil, store.FormatVersion())),
			string(store.PartitionsKey()): string(binary.AppendUvarint(nil, uint64(h.Partitioning().Count())))},
	}
	for _, b := range store.Buckets() {
		got := map[string]string{}
		err := e.ForEach(b, func(k, v []byte) error {
			got[string(k)] = string(v)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want[b]) {
			t.Errorf("%s after reopening = %q, want %q", b, got, want[b])
		}
	}
}

// testClosed: after Close every method returns ErrClosed, and Close again
// returns nil.
func testClosed(t *testing.T, open func() (store.Engine, error)) {
	e, err := open()
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, e, store.Objects, "k", "v")
	closeT(t, e)
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	if err := set(e, store.Objects, "k", "x"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
	if err := e.Delete(ctx, store.Objects, []byte("k")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Delete after Close: %v", err)
	}
	if ok, err := e.CompareAndDelete(ctx, store.Objects, []byte("k"), []byte("v")); ok || !errors.Is(err, store.ErrClosed) {
		t.Errorf("CompareAndDelete after Close: %v, %v", ok, err)
	}
	if _, err := e.Get(store.Objects, []byte("k")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if err := e.View(func(store.View) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View after Close: %v", err)
	}
	if err := e.ForEach(store.Objects, func(k, v []byte) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ForEach after Close: %v", err)
	}
	if _, err := e.Count(store.Objects); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Count after Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("third Close: %v", err)
	}
	// The writes refused after Close did not happen.
	e = mustOpen(t, open)
	wantValue(t, e, store.Objects, "k", "v")
}

// testLocked: a second open while the store is open fails with ErrLocked;
// after Close it works.
func testLocked(t *testing.T, open func() (store.Engine, error)) {
	e, err := open()
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, e, store.Objects, "k", "v")
	second, err := open()
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
	if err == nil {
		_ = second.Close()
	}
	wantValue(t, e, store.Objects, "k", "v") // the first is unharmed
	closeT(t, e)
	e = mustOpen(t, open)
	if e.Fresh() {
		t.Error("store reopened after a refused open is fresh")
	}
	wantValue(t, e, store.Objects, "k", "v")
}
