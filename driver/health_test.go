package driver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// The shell ends what the detector says to end: a request past the limit
// with errNoAnswer, every request to a node the silence rule marks down
// with errSilent (a request both keeps errNoAnswer); Client.call reads the
// cause. The rules themselves are ringsync/detect's, tested there.
func TestWatchCancelsWithCauses(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cfg := Config{SlowAnswer: 500 * time.Millisecond, CoordinatorTimeout: time.Second, Silence: 250 * time.Millisecond}
	cfg.setDefaults()
	h := newHealth(cfg)
	call := func(id string, sent time.Time) context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		h.begin(ring.NodeID(id), sent, cancel)
		return ctx
	}
	old := call("a", t0)
	young := call("a", t0.Add(900*time.Millisecond))
	if down := h.watch(t0.Add(time.Second)); len(down) != 1 || down[0] != "a" {
		t.Fatalf("watch marked %v down, want [a]", down)
	}
	if !errors.Is(context.Cause(old), errNoAnswer) {
		t.Errorf("a request past the limit ended with %v, want errNoAnswer", context.Cause(old))
	}
	if !errors.Is(context.Cause(young), errSilent) {
		t.Errorf("a young request to a silent node ended with %v, want errSilent", context.Cause(young))
	}
	if h.up("a") {
		t.Error("the silent node is still believed up")
	}
}
