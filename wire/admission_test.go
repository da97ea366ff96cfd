package wire

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAdmission(t *testing.T) {
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAdmission(5, 2, 1, 3) // 5 in total, 2 per source, 1/s burst 3
	for _, c := range []struct {
		src    string
		at     time.Duration
		leave  bool
		reason string
	}{
		{src: "a"}, {src: "a"},
		{src: "a", reason: refusePerSource},
		{src: "a", leave: true}, // one of a's connections goes
		{src: "a"},              // third token
		{src: "a", leave: true},
		{src: "a", reason: refuseRate}, // tokens spent
		{src: "a", at: time.Second},    // one came back
		{src: "b"}, {src: "b"}, {src: "c"},
		{src: "d", at: time.Second, reason: refuseTotal},
	} {
		if c.leave {
			a.leave(c.src)
			continue
		}
		reason, err := a.admit(c.src, t0.Add(c.at))
		if reason != c.reason || (err != nil) != (c.reason != "") {
			t.Fatalf("admit %s at %v: %q %v, want %q", c.src, c.at, reason, err, c.reason)
		}
		if err != nil && (!errors.Is(err, errRefused) || !strings.Contains(err.Error(), "limit") && c.reason != refuseRate) {
			t.Fatalf("refusal error %v does not say the limit", err)
		}
	}
	if a.conns != 5 || a.bySrc["a"] != 2 {
		t.Fatalf("%d open, %d from a; want 5 and 2", a.conns, a.bySrc["a"])
	}
}

func TestAdmissionPrunesIdleBuckets(t *testing.T) {
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAdmission(1, 1, 10, 10)
	for i := range 100 {
		src := string(rune('A' + i))
		if _, err := a.admit(src, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		a.leave(src)
	}
	if len(a.buckets) > 4 || len(a.bySrc) != 0 {
		t.Fatalf("%d buckets and %d sources kept, want at most 4 and 0", len(a.buckets), len(a.bySrc))
	}
}

func TestRefusalLogOncePerWindow(t *testing.T) {
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	var r refusalLog
	for _, c := range []struct {
		reason, src string
		at          time.Duration
		want        bool
	}{
		{"x", "a", 0, true}, {"x", "a", time.Second, false}, {"y", "a", time.Second, true},
		{"x", "b", time.Second, true}, {"x", "a", time.Minute, true}, {"x", "a", time.Minute + time.Second, false},
	} {
		if got := r.should(c.reason, c.src, t0.Add(c.at)); got != c.want {
			t.Fatalf("%s from %s at %v: log %v, want %v", c.reason, c.src, c.at, got, c.want)
		}
	}
}
