package handoff

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	bad := Config{Window: MaxWindow + 1, MaxObjects: -1, MaxBytes: MaxBatchBytes + 1, BatchDeadline: time.Microsecond,
		MaxFailures: -2, MaxKey: MaxKeyCeiling + 1, MaxValue: MaxValueCeiling + 1}
	err := bad.Validate()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("%v", err)
	}
	for _, word := range []string{"window", "max objects", "max bytes", "deadline", "max failures", "max key", "max value"} {
		if !strings.Contains(err.Error(), word) {
			t.Errorf("%q not reported in %v", word, err)
		}
	}
	d := Config{}.WithDefaults()
	if d.Window != DefaultWindow || d.MaxObjects != DefaultMaxObjects || d.MaxBytes != DefaultMaxBytes ||
		d.BatchDeadline != DefaultBatchDeadline || d.MaxFailures != DefaultMaxFailures {
		t.Fatalf("defaults %+v", d)
	}
}

// A batch at the bounds fits a frame.
func TestBoundsFitFrame(t *testing.T) {
	const maxFrame = 16 << 20 // wire.MaxFrame
	worst := MaxBatchBytes + MaxValueCeiling + MaxKeyCeiling + objectOverhead + 2*MaxKeyCeiling
	if worst >= maxFrame {
		t.Fatalf("worst batch %d bytes, frame cap %d", worst, maxFrame)
	}
}

func TestNames(t *testing.T) {
	if RefuseStale.String() != "stale ring version" || Refusal(99).String() != "refusal(99)" ||
		Running.String() != "running" || Phase(9).String() != "phase?" {
		t.Fatal("names")
	}
	if s := testID().String(); s != "p7@v3 n1→n4" {
		t.Fatal(s)
	}
	if RefuseBusy.Final() || RefuseBehind.Final() || !RefuseNotHeld.Final() {
		t.Fatal("final")
	}
}
