package store_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/storaged/store/storetest"
)

// TestConformance runs the Engine conformance suite against the bbolt
// Store, with the default (durable) options, in a new directory per subtest.
func TestConformance(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		dir := t.TempDir()
		return storetest.Harness{
			Open: func() (store.Engine, error) {
				s, err := store.Open(dir, store.Options{Logger: quiet})
				if err != nil {
					return nil, err
				}
				return s, nil
			},
			Record: func(b store.Bucket, key []byte) ([]byte, bool, error) {
				return store.RawRecord(dir, b, key)
			},
			SetRecord: func(b store.Bucket, key, rec []byte) error {
				return store.SetRawRecord(dir, b, key, rec)
			},
		}
	})
}
