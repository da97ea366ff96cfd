package detect

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

var t0 = time.Unix(1000, 0)

func TestMarksDownAtOnceAndOnlyRecoveredRevives(t *testing.T) {
	d := New[int](Config{Slow: 100 * time.Millisecond, Limit: time.Second})
	if !d.Up("a") {
		t.Fatal("unknown node should be up")
	}
	d.Failed("a", errors.New("boom"), t0)
	if d.Up("a") {
		t.Fatal("a transport failure did not mark the node down")
	}
	// Answers from user traffic do not revive it: only a probe does.
	d.Answered("a", time.Millisecond, t0.Add(time.Hour))
	if d.Up("a") {
		t.Fatal("an answer revived a node marked down")
	}
	b := d.Belief("a")
	if b.Up || !b.Since.Equal(t0) || b.Failures != 1 || b.LastError != "boom" {
		t.Fatalf("belief = %+v", b)
	}
	if got := d.Down(); !slices.Equal(got, []ring.NodeID{"a"}) {
		t.Fatalf("Down = %v", got)
	}
	d.Recovered("a", t0.Add(2*time.Hour))
	if !d.Up("a") || len(d.Down()) != 0 || d.Belief("a") != (Belief{Up: true}) {
		t.Fatal("a successful probe did not bring the node back clean")
	}
}

func TestSlowAnswersAreSoftFailures(t *testing.T) {
	const limit = 3
	d := New[int](Config{Slow: 100 * time.Millisecond, SlowLimit: limit, Limit: time.Second})
	for i := range limit - 1 {
		d.Answered("a", 200*time.Millisecond, t0)
		if !d.Up("a") {
			t.Fatalf("down after %d slow answers, limit %d", i+1, limit)
		}
	}
	d.Answered("a", time.Millisecond, t0) // a prompt answer clears the count
	for range limit - 1 {
		d.Answered("a", 200*time.Millisecond, t0)
	}
	if !d.Up("a") {
		t.Fatal("slow answers not interrupted by a prompt one still marked the node down")
	}
	d.Answered("a", 200*time.Millisecond, t0)
	if d.Up("a") || d.Belief("a").LastError != "slow answers" {
		t.Fatalf("%d slow answers in a row did not mark the node down: %+v", limit, d.Belief("a"))
	}
}

// The silence rule marks down a node that answered nothing for the silence
// while an old enough call to it is outstanding, and hands back the tokens
// of every call in flight to it; a node that answers other calls, or whose
// calls are all young, is left alone.
func TestSilenceRule(t *testing.T) {
	d := New[string](Config{Slow: 500 * time.Millisecond, Limit: 24 * time.Hour, Silence: 250 * time.Millisecond})
	d.Begin("dead", t0, "dead-old")
	d.Begin("dead", t0.Add(240*time.Millisecond), "dead-young")
	d.Begin("busy", t0, "busy")
	d.Answered("busy", 10*time.Millisecond, t0.Add(200*time.Millisecond)) // it answers others
	young := d.Begin("young", t0.Add(100*time.Millisecond), "young")

	if exp, down, sil := d.Tick(t0.Add(200 * time.Millisecond)); len(exp)+len(down)+len(sil) != 0 {
		t.Fatalf("at 200ms: expired %v, down %v, silenced %v; want nothing", exp, down, sil)
	}
	exp, down, sil := d.Tick(t0.Add(260 * time.Millisecond))
	slices.Sort(sil)
	if len(exp) != 0 || !slices.Equal(down, []ring.NodeID{"dead"}) || !slices.Equal(sil, []string{"dead-old", "dead-young"}) {
		t.Fatalf("at 260ms: expired %v, down %v, silenced %v; want dead and both its calls", exp, down, sil)
	}
	if d.Up("dead") || !d.Up("busy") || !d.Up("young") {
		t.Fatal("the wrong nodes are believed down")
	}
	d.End(young, HeardNothing, 0, nil, t0.Add(time.Hour))
	if _, down, sil := d.Tick(t0.Add(time.Hour)); !slices.Equal(down, []ring.NodeID{"busy"}) || !slices.Equal(sil, []string{"busy"}) {
		// busy's call from t0 is still outstanding and it has been quiet
		// since 200ms; young's call ended; dead's calls are still
		// registered (their callers end them when they return), but they
		// were handed back already.
		t.Fatalf("silent an hour later = %v (calls %v), want [busy] and its call", down, sil)
	}
}

// Tick hands back every call outstanding past the limit, whether or not its
// node answers others, and leaves younger ones alone; with the silence
// rule off it marks nobody down.
func TestTickExpiresCallsPastTheLimit(t *testing.T) {
	d := New[string](Config{Slow: 500 * time.Millisecond, Limit: time.Second})
	d.Begin("a", t0, "old")
	d.Begin("a", t0.Add(900*time.Millisecond), "young")
	d.Answered("a", time.Millisecond, t0.Add(950*time.Millisecond))
	exp, down, sil := d.Tick(t0.Add(time.Second))
	if !slices.Equal(exp, []string{"old"}) || len(down) != 0 || len(sil) != 0 || !d.Up("a") {
		t.Fatalf("expired %v, down %v, silenced %v, up %v; want [old] and nothing else", exp, down, sil, d.Up("a"))
	}
}

// End records what the call heard and unregisters it, so Tick no longer
// hands it back.
func TestEndRecordsOutcome(t *testing.T) {
	d := New[string](Config{Slow: 100 * time.Millisecond, Limit: time.Second, Silence: 250 * time.Millisecond})
	c := d.Begin("a", t0, "c")
	d.End(c, HeardFailure, 0, errors.New("reset"), t0.Add(time.Millisecond))
	if d.Up("a") || d.Belief("a").LastError != "reset" {
		t.Fatalf("a failure did not mark the node down: %+v", d.Belief("a"))
	}
	if exp, _, sil := d.Tick(t0.Add(time.Hour)); len(exp)+len(sil) != 0 {
		t.Fatalf("an ended call was handed back: %v %v", exp, sil)
	}
	d.Recovered("a", t0.Add(time.Hour))
	c = d.Begin("a", t0.Add(time.Hour), "c2")
	d.End(c, HeardAnswer, 200*time.Millisecond, nil, t0.Add(time.Hour+200*time.Millisecond))
	if b := d.Belief("a"); !b.Up || b.Slow != 1 {
		t.Fatalf("a slow answer: %+v, want up with one slow answer", b)
	}
}
