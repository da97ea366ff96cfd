package memstore_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/storaged/store/memstore"
)

// TestOpenLocked: a Disk has one open Store at a time, until Close or Crash.
func TestOpenLocked(t *testing.T) {
	d := memstore.NewDisk()
	s := openT(t, d, memstore.Options{})
	if _, err := d.Open(memstore.Options{Logger: quiet}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, d, memstore.Options{})
	d.Crash(nil)
	s = openT(t, d, memstore.Options{})
	if _, err := d.Open(memstore.Options{Logger: quiet}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("Open after a crash and a reopen: %v, want ErrLocked", err)
	}
	if s.Fresh() {
		t.Error("reopened store is fresh")
	}
	var zero memstore.Disk // ready to use
	z := openT(t, &zero, memstore.Options{})
	if !z.Fresh() || z.Epoch() == 0 {
		t.Errorf("zero Disk: Fresh %v, Epoch %d", z.Fresh(), z.Epoch())
	}
}

// TestOptionsValidate: bad options are all reported, and Open refuses them
// without taking the Disk.
func TestOptionsValidate(t *testing.T) {
	d := memstore.NewDisk()
	_, err := d.Open(memstore.Options{MaxBatch: -1, SyncLatency: -1})
	if err == nil || !strings.Contains(err.Error(), "MaxBatch") || !strings.Contains(err.Error(), "SyncLatency") {
		t.Fatalf("Open with two bad options: %v, want both reported", err)
	}
	for _, o := range []memstore.Options{{}, {MaxBatch: 1}, {MaxBatch: store.MaxBatchLimit}, {NoSync: true, SyncLatency: 1}} {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if err := (memstore.Options{MaxBatch: store.MaxBatchLimit + 1}).Validate(); err == nil {
		t.Error("MaxBatch above the limit accepted")
	}
	openT(t, d, memstore.Options{})
}

// TestEpochFromRand: the epoch comes from Options.Rand (skipping zero), is
// synced at once even under NoSync, and a failing Rand fails Open without
// taking the Disk.
func TestEpochFromRand(t *testing.T) {
	d := memstore.NewDisk()
	if _, err := d.Open(memstore.Options{Rand: bytes.NewReader(nil), Logger: quiet}); err == nil {
		t.Fatal("Open with an empty Rand succeeded")
	}
	bits := append(make([]byte, 8), 1, 2, 3, 4, 5, 6, 7, 8)
	s, err := d.Open(memstore.Options{NoSync: true, Rand: bytes.NewReader(bits), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	const want = 0x0102030405060708
	if s.Epoch() != want || !s.Fresh() {
		t.Fatalf("Epoch %#x, Fresh %v; want %#x, true", s.Epoch(), s.Fresh(), uint64(want))
	}
	d.Crash(nil)
	s = openT(t, d, memstore.Options{})
	if s.Epoch() != want || s.Fresh() {
		t.Errorf("after a crash: Epoch %#x, Fresh %v; want %#x, false", s.Epoch(), s.Fresh(), uint64(want))
	}
}
