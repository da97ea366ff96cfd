package detect

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// base is the driver's configuration of the detector.
func base(fixed bool) Config {
	return Config{Slow: 500 * time.Millisecond, SlowLimit: 3, Limit: time.Second, Silence: 250 * time.Millisecond,
		Tick: 50 * time.Millisecond, Fixed: fixed}
}

// answerAll makes each node answer rounds calls that took the given time,
// one round per 50ms Tick, and returns the time after the last.
func answerAll(d *Detector[string], took map[ring.NodeID]time.Duration, rounds int, now time.Time) time.Time {
	ids := make([]ring.NodeID, 0, len(took))
	for id := range took {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for range rounds {
		for _, id := range ids {
			c := d.Begin(id, now.Add(-took[id]), "c")
			d.End(c, HeardAnswer, took[id], nil, now)
		}
		now = now.Add(50 * time.Millisecond)
		d.Tick(now)
	}
	return now
}

// When every node answers slowly, the slow threshold rises with them: no
// node is marked down. The fixed detector (the negative control) marks
// every one of them down.
func TestAllSlowIsNotFailure(t *testing.T) {
	for _, fixed := range []bool{false, true} {
		d := New[string](base(fixed))
		answerAll(d, map[ring.NodeID]time.Duration{"a": 1500 * time.Millisecond, "b": 1200 * time.Millisecond, "c": 2 * time.Second}, 10, t0)
		down := d.Down()
		switch {
		case !fixed && len(down) != 0:
			t.Fatalf("adaptive: %v marked down when every node is slow (thresholds %+v)", down, d.Thresholds())
		case fixed && len(down) != 3:
			t.Fatalf("fixed: down = %v, want every node (the control must fail the slow case)", down)
		}
		if th := d.Thresholds(); !fixed && (th.Slow < 2*time.Second || th.Limit < 4*time.Second) {
			t.Fatalf("adaptive thresholds %+v: want slow and limit above the 2s answers", th)
		}
	}
}

// One node slow while the others are fast is still marked down after
// SlowLimit slow answers, and the thresholds stay at their floors.
func TestOneSlowAmongFastIsMarkedDown(t *testing.T) {
	d := New[string](base(false))
	answerAll(d, map[ring.NodeID]time.Duration{"a": 2 * time.Millisecond, "b": 3 * time.Millisecond, "c": 600 * time.Millisecond}, 3, t0)
	if got := d.Down(); !slices.Equal(got, []ring.NodeID{"c"}) {
		t.Fatalf("down = %v, want [c]", got)
	}
	if th := d.Thresholds(); th.Slow != 500*time.Millisecond || th.Limit != time.Second || th.Silence != 250*time.Millisecond || th.Multiplier != 1 {
		t.Fatalf("thresholds %+v, want the configured floors", th)
	}
}

// A call to slow nodes is not ended at the configured limit once their
// answers showed they take longer; the fixed detector ends it.
func TestLimitScalesWithLatency(t *testing.T) {
	for _, fixed := range []bool{false, true} {
		d := New[string](base(fixed))
		now := answerAll(d, map[ring.NodeID]time.Duration{"a": 800 * time.Millisecond, "b": 900 * time.Millisecond}, 4, t0)
		d.Recovered("a", now) // the fixed one marked them down; start from up
		d.Begin("a", now, "call")
		d.Answered("b", 900*time.Millisecond, now.Add(1400*time.Millisecond)) // b answers meanwhile: a is judged alone
		exp, down, _ := d.Tick(now.Add(1500 * time.Millisecond))
		if ended := len(exp) > 0 || len(down) > 0; ended != fixed {
			t.Fatalf("fixed=%v: after 1.5s expired %v, silenced %v (thresholds %+v)", fixed, exp, down, d.Thresholds())
		}
	}
}

// Several nodes silent at once with nobody answering: the client is the
// likely cause. They are held once, not marked down, and the multiplier
// doubles (silence 250ms -> 500ms); still silent at the doubled silence,
// they are marked down: nothing tells a local fault from nodes that died
// together, and the writes must move on before their deadline. The fixed
// detector marks them all down at once.
func TestSilentTogetherIsHeldOnce(t *testing.T) {
	for _, fixed := range []bool{false, true} {
		d := New[string](base(fixed))
		for _, id := range []ring.NodeID{"a", "b", "c"} {
			d.Answered(id, time.Millisecond, t0)
			d.Begin(id, t0, string(id))
		}
		now := t0
		for range 6 { // 50ms apart, up to 300ms
			now = now.Add(50 * time.Millisecond)
			d.Tick(now)
		}
		if fixed {
			if got := d.Down(); len(got) != 3 {
				t.Fatalf("fixed: down = %v, want all three", got)
			}
			continue
		}
		if got, m := d.Down(), d.Thresholds().Multiplier; len(got) != 0 || m != 2 {
			t.Fatalf("at 300ms: down %v, multiplier %d; want none down, multiplier 2", got, m)
		}
		for now.Before(t0.Add(520 * time.Millisecond)) {
			now = now.Add(50 * time.Millisecond)
			d.Tick(now)
		}
		if got, th := d.Down(), d.Thresholds(); len(got) != 3 || th.Silence != 500*time.Millisecond {
			t.Fatalf("at 550ms: down %v, thresholds %+v; want all three down at the doubled silence, 500ms", got, th)
		}
		// A prompt answer calms it down again.
		d.Answered("a", time.Millisecond, now)
		if m := d.Thresholds().Multiplier; m != 1 {
			t.Fatalf("multiplier %d after a prompt answer, want 1", m)
		}
	}
}

// Two nodes killed together while one put waits on their replicates (the
// coordinator answered just before, and nothing else is in flight): they
// are marked down within twice the silence, so the put moves to fallbacks
// long before its deadline. A detector that kept doubling its hold waited
// out a 5s deadline here (internal/faulttest's two-primaries test).
func TestDiedTogetherMarkedDownSoon(t *testing.T) {
	d := New[string](base(false))
	d.Answered("c", time.Millisecond, t0)
	d.Begin("a", t0, "a1")
	d.Begin("b", t0, "b1")
	now := t0
	for len(d.Down()) < 2 {
		now = now.Add(50 * time.Millisecond)
		if now.Sub(t0) > 2*time.Second {
			t.Fatalf("after %v: down %v, thresholds %+v: still held", now.Sub(t0), d.Down(), d.Thresholds())
		}
		d.Tick(now)
	}
	if took := now.Sub(t0); took > 600*time.Millisecond {
		t.Fatalf("marked down after %v, want within twice the 250ms silence (plus a tick)", took)
	}
}

// A node silent while another answers is marked down at the configured
// silence, as before, and the multiplier stays 1.
func TestSilentAloneIsMarkedDown(t *testing.T) {
	d := New[string](base(false))
	d.Answered("a", time.Millisecond, t0)
	d.Answered("b", time.Millisecond, t0)
	d.Begin("a", t0, "a1")
	d.Begin("b", t0, "b1")
	d.Answered("b", time.Millisecond, t0.Add(200*time.Millisecond))
	_, down, sil := d.Tick(t0.Add(260 * time.Millisecond))
	if !slices.Equal(down, []ring.NodeID{"a"}) || !slices.Equal(sil, []string{"a1"}) || d.Thresholds().Multiplier != 1 {
		t.Fatalf("down %v, silenced %v, thresholds %+v; want a alone, multiplier 1", down, sil, d.Thresholds())
	}
	// Two nodes silent at once while a third answers: both down.
	d.Begin("c", t0.Add(300*time.Millisecond), "c1")
	d.Begin("b", t0.Add(300*time.Millisecond), "b2")
	d.Tick(t0.Add(360 * time.Millisecond)) // on time: a late Tick would judge nobody
	d.Tick(t0.Add(460 * time.Millisecond))
	d.Answered("e", time.Millisecond, t0.Add(500*time.Millisecond))
	d.Tick(t0.Add(560 * time.Millisecond))
	if down := d.Down(); !slices.Equal(down, []ring.NodeID{"a", "b", "c"}) {
		t.Fatalf("down %v, want [a b c]: another node answered meanwhile", down)
	}
}

// A Tick far later than its period means this process was not running:
// it applies no rule (answers may be waiting unread) and doubles the
// multiplier; the next Tick on time judges with the raised thresholds.
func TestLateTickJudgesNobody(t *testing.T) {
	d := New[string](base(false))
	d.Answered("a", time.Millisecond, t0)
	d.Tick(t0)
	d.Begin("a", t0, "a1")
	if exp, down, sil := d.Tick(t0.Add(2 * time.Second)); len(exp)+len(down)+len(sil) != 0 || d.Thresholds().Multiplier != 2 {
		t.Fatalf("late tick: expired %v, down %v, silenced %v, thresholds %+v; want nothing, multiplier 2", exp, down, sil, d.Thresholds())
	}
	if exp, down, _ := d.Tick(t0.Add(2050 * time.Millisecond)); len(exp) != 1 || len(down) != 1 {
		t.Fatalf("next tick: expired %v, down %v; want the 2s-old call ended (limit 2s now) and a down", exp, down)
	}
}

// A call ended or a node marked down with nothing answered since the
// previous such Tick raises the multiplier (the timeout cut answers short,
// so latency alone would never learn); an answer in between does not.
func TestNothingAnsweredBetweenFailuresBacksOff(t *testing.T) {
	d := New[string](base(false))
	d.Answered("x", time.Millisecond, t0)
	now := t0
	for i := range 4 {
		id := ring.NodeID(fmt.Sprint("n", i))
		d.Begin(id, now, "c")
		now = now.Add(d.Thresholds().Limit)
		d.Tick(now)
	}
	// The first failure had an answer before it; the next three none.
	if m := d.Thresholds().Multiplier; m != 8 {
		t.Fatalf("multiplier %d after four failures with no answer between the last three, want 8", m)
	}
}
