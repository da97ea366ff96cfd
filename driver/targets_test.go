package driver

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/shoalkv/shoal/driver/coord"
	"github.com/shoalkv/shoal/wire"
)

// The plan, machine and repair tests are coord's (driver/coord); these are
// the shell's side: the errors it builds from coord's results, and its
// background work.

func TestQuorumErrorUnknownOutcome(t *testing.T) {
	refused := &QuorumError{Op: "put", Needed: 2}
	unknown := &QuorumError{Op: "put", Needed: 2, Acked: 1, Unknown: true}
	if !errors.Is(refused, ErrUnavailable) || errors.Is(refused, ErrUnknownOutcome) {
		t.Error("a refused write must match ErrUnavailable only")
	}
	if !errors.Is(unknown, ErrUnavailable) || !errors.Is(unknown, ErrUnknownOutcome) {
		t.Error("an unknown outcome must match both ErrUnavailable and ErrUnknownOutcome")
	}
}

// coord's description of a failure becomes a QuorumError with the same
// counts, its causes sorted by node and the caller's end as the call-wide
// cause.
func TestQuorumErrorFromFailure(t *testing.T) {
	lost := &wire.CallError{Op: "read", Err: context.DeadlineExceeded}
	down := &wire.CallError{Op: "dial", Err: errors.New("refused")}
	f := coord.Failure{Needed: 3, Acked: 1, NeededPrimary: 2, AckedPrimary: 1, Unknown: true, Ended: context.Canceled,
		Causes: []coord.Cause{{Node: "n3", Err: lost}, {Node: "n1", Err: down}}}
	e := quorumError("put", f)
	if e.Op != "put" || e.Needed != 3 || e.Acked != 1 || e.NeededPrimary != 2 || e.AckedPrimary != 1 || !e.Unknown {
		t.Fatalf("counts %+v", e)
	}
	var nodes []string
	for _, c := range e.Causes {
		nodes = append(nodes, string(c.Node))
	}
	if !slices.Equal(nodes, []string{string(callWide), "n1", "n3"}) || e.Causes[0].Err != context.Canceled {
		t.Fatalf("causes %v", e.Causes)
	}
	if !errors.Is(e, ErrUnknownOutcome) || !errors.Is(e, context.Canceled) || !errors.Is(e, context.DeadlineExceeded) {
		t.Fatal("the error hides its outcome or its causes")
	}
	if e := quorumError("get", coord.Failure{Needed: 2}); e.Causes != nil || e.Unknown {
		t.Fatalf("a failure without causes: %+v", e)
	}
}

// Background work asked for after Close never starts, so Close's wait
// cannot be joined by a goroutine it did not see.
func TestSpawnAfterCloseDoesNotRun(t *testing.T) {
	c := &Client{}
	var ran atomic.Bool
	if !c.spawn(func() { ran.Store(true) }) {
		t.Fatal("spawn refused before Close")
	}
	c.wg.Wait()
	if !ran.Load() {
		t.Fatal("spawned work did not run")
	}
	ran.Store(false)
	c.closed.Store(true)
	if c.spawn(func() { ran.Store(true) }) {
		t.Fatal("spawn accepted work after Close")
	}
	c.wg.Wait()
	if ran.Load() {
		t.Fatal("work spawned after Close ran")
	}
}

// The message names the requirement that was missed.
func TestQuorumErrorSaysWhatFellShort(t *testing.T) {
	for _, tc := range []struct {
		e    *QuorumError
		want string
	}{
		{&QuorumError{Op: "get", Needed: 3, Acked: 3, NeededPrimary: 3, AckedPrimary: 2},
			"driver: get: only 2 of 3 primaries needed answered (3 of 3 replicas needed did)"},
		{&QuorumError{Op: "put", Needed: 2, Acked: 1},
			"driver: put: only 1 of 2 replicas needed answered; the write was not applied"},
		{&QuorumError{Op: "get", Needed: 2, Acked: 0, Causes: []ReplicaError{{Node: callWide, Err: context.DeadlineExceeded}}},
			"driver: get: only 0 of 2 replicas needed answered (the call as a whole: context deadline exceeded)"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
