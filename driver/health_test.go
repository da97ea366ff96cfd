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

	if got := h.watch(t0.Add(200*time.Millisecond), time.Hour*24, silence); len(got) != 0 {
		t.Fatalf("marked %v down before anyone was silent for %v", got, silence)
	}
	got := h.watch(t0.Add(260*time.Millisecond), time.Hour*24, silence)
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
	h.end(young, heardNothing, 0, nil, t0.Add(time.Hour))
	if got := h.watch(t0.Add(time.Hour), time.Hour*24, silence); len(got) != 2 || got[0] != "busy" || got[1] != "dead" {
		// busy's request from t0 is still outstanding and it has been quiet
		// since 200ms; young's request ended; dead's requests are still
		// registered (their callers end them when they return).
		t.Fatalf("silent an hour later = %v, want [busy dead]", got)
	}
}

// The watchdog ends any request outstanding past the attempt limit with
// errNoAnswer, whether or not the node answers others (its caller records
// the failure), and leaves younger ones alone; with the silence rule off it
// marks nobody down itself.
func TestWatchdogEndsRequestsPastTheLimit(t *testing.T) {
	t0 := time.Unix(1000, 0)
	h := newHealth(500 * time.Millisecond)
	oldCtx, cancelOld := context.WithCancelCause(context.Background())
	h.begin("a", t0, cancelOld)
	youngCtx, cancelYoung := context.WithCancelCause(context.Background())
	h.begin("a", t0.Add(900*time.Millisecond), cancelYoung)
	h.answered("a", time.Millisecond, t0.Add(950*time.Millisecond))
	if got := h.watch(t0.Add(time.Second), time.Second, -1); len(got) != 0 {
		t.Fatalf("watch with the silence rule off marked %v down", got)
	}
	if !errors.Is(context.Cause(oldCtx), errNoAnswer) {
		t.Errorf("a request outstanding for the whole limit was not ended with errNoAnswer: %v", context.Cause(oldCtx))
	}
	if youngCtx.Err() != nil {
		t.Error("a young request was ended")
	}
	if !h.up("a") {
		t.Error("the watchdog itself marked the node down")
	}
}
