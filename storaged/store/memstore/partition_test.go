package memstore_test

import (
	"errors"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/storaged/store/memstore"
	"github.com/shoalkv/shoal/storaged/store/storetest"
)

// TestPartitionsMismatch: a Disk is refused under another partition count
// than the one it was first opened with, as a *store.Store's file is; the
// same count opens it again, its objects where they were.
func TestPartitionsMismatch(t *testing.T) {
	d := memstore.NewDisk()
	eight := memstore.Options{Logger: quiet, Partition: storetest.TestPartition, Partitions: storetest.TestPartitions}
	s, err := d.Open(eight)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(s.Apply(t.Context(), store.Objects, []byte("k"), func([]byte) ([]byte, error) { return []byte("v"), nil }), s.Close()); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []memstore.Options{{Logger: quiet}, {Logger: quiet, Partition: storetest.TestPartition, Partitions: 4}} {
		if s, err := d.Open(opts); !errors.Is(err, store.ErrPartitions) {
			t.Errorf("Open with %d partitions = %v, want ErrPartitions", opts.Partitions, err)
			if s != nil {
				s.Close()
			}
		}
	}
	s, err = d.Open(eight)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Get(store.Objects, []byte("k")); err != nil || string(v) != "v" {
		t.Errorf("k = %q, %v after reopening", v, err)
	}
}
