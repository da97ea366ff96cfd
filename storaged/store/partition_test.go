package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestPartitionsMismatch: a store is refused under another partition count
// than the one it was written with (ErrPartitions, both counts named), the
// file left as it was; the same count opens it again.
func TestPartitionsMismatch(t *testing.T) {
	dir := t.TempDir()
	four := Options{NoSync: true, Logger: quiet, Partition: testPartition, Partitions: 4}
	s, err := Open(dir, four)
	if err != nil {
		t.Fatal(err)
	}
	if err := set(s, Objects, "k1", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{NoSync: true, Logger: quiet}, {NoSync: true, Logger: quiet, Partition: testPartition, Partitions: 8}} {
		_, err := Open(dir, opts)
		if !errors.Is(err, ErrPartitions) || !strings.Contains(err.Error(), fmt.Sprintf("in 4 partitions, opened with %d", max(opts.Partitions, 1))) {
			t.Errorf("Open with %d partitions = %v, want ErrPartitions naming 4 and %d", opts.Partitions, err, opts.Partitions)
		}
	}
	s = openT(t, dir, four)
	if got := mustGet(t, s, Objects, "k1"); got != "v" || s.Quarantined() != "" {
		t.Errorf("reopened with 4 partitions: k1 = %q, quarantined %q", got, s.Quarantined())
	}
}

// TestMisplacedObject: an object found under another partition's prefix
// (a damaged key: its record's checksum still holds) is skipped by scans
// and counted as corrupt; a control placed right is served.
func TestMisplacedObject(t *testing.T) {
	dir := t.TempDir()
	opts := Options{NoSync: true, Logger: quiet, Partition: testPartition, Partitions: 4}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(set(s, Objects, "k1", "v1"), s.Close()); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, dbName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		rec := AppendRecord(nil, Objects, []byte("k2"), []byte("v2"))
		bk := tx.Bucket(Objects.name())
		// k2 belongs to partition 2; one copy in 3, and the control in 2.
		return errors.Join(bk.Put(appendPrefixed(nil, 3, []byte("k2")), rec), bk.Put(appendPrefixed(nil, 2, []byte("k2")), rec))
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, opts)
	var got []string
	for q := range 4 {
		if err := s.ScanPartition(q, nil, func(k, v []byte) bool { got = append(got, fmt.Sprintf("%d:%s=%s", q, k, v)); return true }); err != nil {
			t.Fatal(err)
		}
	}
	if want := "1:k1=v1,2:k2=v2"; strings.Join(got, ",") != want {
		t.Errorf("partitions hold %q, want %s", got, want)
	}
	if st := s.Stats(); st.CorruptReads != 1 {
		t.Errorf("%d corrupt reads, want 1 (the misplaced copy)", st.CorruptReads)
	}
}

// TestPartitionOptions: the layout's options are checked together with the
// others, each problem named.
func TestPartitionOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Partitions: 4}, "Partitions is 4 without a Partition function"},
		{Options{Partition: testPartition}, "Partitions is 0, want 1 to 65536"},
		{Options{Partition: testPartition, Partitions: MaxPartitions + 1}, "Partitions is 65537, want 1 to 65536"},
		{Options{Partition: testPartition, Partitions: 4, MaxBatch: -1}, "MaxBatch is -1"},
	} {
		if err := tc.opts.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.opts.Partitions, err, tc.want)
		}
	}
	if err := (Options{Partition: testPartition, Partitions: MaxPartitions}).Validate(); err != nil {
		t.Errorf("Validate with %d partitions: %v", MaxPartitions, err)
	}
	// A Partition function out of range fails the write, not the process.
	s := openT(t, t.TempDir(), Options{NoSync: true, Partition: func([]byte) int { return 9 }, Partitions: 4})
	if err := set(s, Objects, "k", "v"); !errors.Is(err, ErrInvalidPartition) {
		t.Errorf("Apply with a Partition function out of range: %v, want ErrInvalidPartition", err)
	}
	if err := s.Delete(context.Background(), Hints, []byte("k")); err != nil {
		t.Errorf("Delete in hints: %v", err)
	}
}
