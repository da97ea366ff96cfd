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
	for _, tc := range []struct {
		name string
		opts memstore.Options
	}{
		{"sync", memstore.Options{}},
		{"nosync", memstore.Options{NoSync: true}},
		{"latency", memstore.Options{SyncLatency: 100 * time.Microsecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) func() (store.Engine, error) {
				d := memstore.NewDisk()
				return func() (store.Engine, error) {
					opts := tc.opts
					opts.Logger = quiet
					s, err := d.Open(opts)
					if err != nil {
						return nil, err
					}
					return s, nil
				}
			})
		})
	}
}
