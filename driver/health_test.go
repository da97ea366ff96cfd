package driver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// The silence rule marks down a node that answered nothing for the silence
// while an old enough request to it is outstanding, and cancels every
// request in flight to it; a node that answers other requests, or whose
// requests are all young, is left alone.
func TestSilenceRule(t *testing.T) {
	const silence = 250 * time.Millisecond
	t0 := time.Unix(1000, 0)
	h := newHealth(500 * time.Millisecond)
	newCall := func(id string, sent time.Time) (context.Context, *inflight) {
		ctx, cancel := context.WithCancelCause(context.Background())
		return ctx, h.begin(ring.NodeID(id), sent, cancel)
	}
	deadCtx, _ := newCall("dead", t0)
	deadYoungCtx, _ := newCall("dead", t0.Add(240*time.Millisecond))
	busyCtx, _ := newCall("busy", t0)
	h.answered("busy", 10*time.Millisecond, t0.Add(200*time.Millisecond)) // it answers others
	youngCtx, young := newCall("young", t0.Add(100*time.Millisecond))

	if got := h.silent(t0.Add(200*time.Millisecond), silence); len(got) != 0 {
		t.Fatalf("marked %v down before anyone was silent for %v", got, silence)
	}
	got := h.silent(t0.Add(260*time.Millisecond), silence)
	if len(got) != 1 || got[0] != "dead" {
		t.Fatalf("silent at 260ms = %v, want [dead]", got)
	}
	if h.up("dead") {
		t.Error("dead still believed up")
	}
	for name, ctx := range map[string]context.Context{"old": deadCtx, "young": deadYoungCtx} {
		if !errors.Is(context.Cause(ctx), errSilent) {
			t.Errorf("the %s request to the silent node was not cancelled with errSilent: %v", name, context.Cause(ctx))
		}
	}
	if busyCtx.Err() != nil || youngCtx.Err() != nil || !h.up("busy") || !h.up("young") {
		t.Error("a node that answered recently, or whose requests are young, was touched")
	}
	h.end(young)
	if got := h.silent(t0.Add(time.Hour), silence); len(got) != 2 || got[0] != "busy" || got[1] != "dead" {
		// busy's request from t0 is still outstanding and it has been quiet
		// since 200ms; young's request ended; dead's requests are still
		// registered (their callers end them when they return).
		t.Fatalf("silent an hour later = %v, want [busy dead]", got)
	}
}
