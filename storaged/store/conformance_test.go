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
	storetest.Run(t, func(t *testing.T) func() (store.Engine, error) {
		dir := t.TempDir()
		return func() (store.Engine, error) {
			s, err := store.Open(dir, store.Options{Logger: quiet})
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	})
}
