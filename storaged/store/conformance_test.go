package store_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/storaged/store/storetest"
)

// TestConformance runs the Engine conformance suite against the bbolt
// Store, with the default (durable) options, in a new directory per
// subtest: with one partition (no Partition function) and with
// storetest.TestPartitions.
func TestConformance(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name  string
		of    func([]byte) int
		count int
	}{
		{"unpartitioned", nil, 0},
		{"partitioned", storetest.TestPartition, storetest.TestPartitions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := store.NewPartitioning(tc.of, tc.count)
			if err != nil {
				t.Fatal(err)
			}
			storetest.Run(t, func(t *testing.T) storetest.Harness {
				dir := t.TempDir()
				return storetest.Harness{
					Open: func() (store.Engine, error) {
						s, err := store.Open(dir, store.Options{Logger: quiet, Partition: tc.of, Partitions: tc.count})
						if err != nil {
							return nil, err
						}
						return s, nil
					},
					Record: func(b store.Bucket, key []byte) ([]byte, bool, error) {
						return store.RawRecord(dir, keys, b, key)
					},
					SetRecord: func(b store.Bucket, key, rec []byte) error {
						return store.SetRawRecord(dir, keys, b, key, rec)
					},
					Partition:  tc.of,
					Partitions: tc.count,
				}
			})
		})
	}
}
