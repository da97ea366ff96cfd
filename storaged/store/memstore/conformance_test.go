package memstore_test

import (
	"testing"
	"time"

	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/storaged/store/memstore"
	"github.com/shoalkv/shoal/storaged/store/storetest"
)

// TestConformance runs the Engine conformance suite against memstore, on a
// new Disk per subtest, durable, under NoSync and with a sync that takes
// time.
func TestConformance(t *testing.T) {
	parted := memstore.Options{Partition: storetest.TestPartition, Partitions: storetest.TestPartitions}
	for _, tc := range []struct {
		name string
		opts memstore.Options
	}{
		{"sync", memstore.Options{}},
		{"nosync", memstore.Options{NoSync: true}},
		{"latency", memstore.Options{SyncLatency: 100 * time.Microsecond}},
		{"partitioned", parted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Harness {
				d := memstore.NewDisk()
				return storetest.Harness{
					Open: func() (store.Engine, error) {
						opts := tc.opts
						opts.Logger = quiet
						s, err := d.Open(opts)
						if err != nil {
							return nil, err
						}
						return s, nil
					},
					Record: func(b store.Bucket, key []byte) ([]byte, bool, error) {
						rec, ok := d.Record(b, key)
						return rec, ok, nil
					},
					SetRecord:  d.SetRecord,
					Partition:  tc.opts.Partition,
					Partitions: tc.opts.Partitions,
				}
			})
		})
	}
}
