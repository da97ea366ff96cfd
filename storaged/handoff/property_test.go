package handoff

import (
	"math/rand/v2"
	"testing"
	"time"
)

// faultyWorld is a world with random batch limits and window, and every
// fault on during its first minute: receiver crashes, sender crashes,
// link cuts of up to 10 s, failed exchanges.
func faultyWorld(seed uint64) *world {
	rng := rand.New(rand.NewPCG(seed, 5))
	cfg := Config{Window: 1 + rng.IntN(4), MaxObjects: 1 + rng.IntN(40), MaxBytes: 64 + rng.IntN(4096),
		BatchDeadline: time.Duration(1+rng.IntN(4)) * time.Second}
	w := newWorld(seed, cfg, source(rng, 200+rng.IntN(800), 200))
	w.faultsUntil = epoch.Add(time.Minute)
	w.pCrashRx, w.pCrashTx, w.pCut, w.pExchangeFail, w.pMergeFail = 0.01, 0.005, 0.005, 0.2, 0.02
	return w
}

const propertySeeds = 200

// TestPropertyFaults: under random fault schedules every object of the
// source ends merged at least once, the transfer ends by itself once the
// faults stop, and no stream re-sends more than one window of batches.
func TestPropertyFaults(t *testing.T) {
	crashes, cuts, resent, mergeFails := 0, 0, 0, 0
	for seed := range uint64(propertySeeds) {
		w := faultyWorld(seed)
		if !w.run(30 * time.Minute) {
			t.Fatalf("seed %d: not done after 30 min (crashes %d, cuts %d, gave up %d)", seed, w.crashes, w.cuts, w.gaveUp)
		}
		if miss := w.missing(); len(miss) > 0 {
			t.Fatalf("seed %d: %d objects never merged, first %q", seed, len(miss), miss[0])
		}
		if m := w.maxResent(); m > w.cfg.Window {
			t.Fatalf("seed %d: a stream re-sent %d batches, window %d", seed, m, w.cfg.Window)
		}
		crashes += w.crashes
		mergeFails += w.mergeFails
		cuts += w.cuts + w.txDowns
		for _, n := range w.resent {
			resent += n
		}
	}
	// The faults happened and cost re-sends, or the property says little.
	if crashes < propertySeeds/2 || cuts < propertySeeds/4 || mergeFails < propertySeeds/4 || resent == 0 {
		t.Fatalf("weak schedule: %d crashes, %d cuts, %d failed merges, %d re-sent batches over %d seeds",
			crashes, cuts, mergeFails, resent, propertySeeds)
	}
	t.Logf("%d seeds: %d receiver crashes, %d cuts or sender crashes, %d failed merges, %d batches re-sent",
		propertySeeds, crashes, cuts, mergeFails, resent)
}

// mutantCaught runs the faulty worlds with mutate applied until caught
// says one of them shows the mutant's bug, and fails the test if none does.
func mutantCaught(t *testing.T, mutant string, mutate func(*world), caught func(*world) bool) {
	t.Helper()
	for seed := range uint64(propertySeeds) {
		w := faultyWorld(seed)
		mutate(w)
		w.run(30 * time.Minute)
		if caught(w) {
			t.Logf("seed %d caught the shell that %s: %d objects lost, %d batches re-sent on one stream (window %d)",
				seed, mutant, len(w.missing()), w.maxResent(), w.cfg.Window)
			return
		}
	}
	t.Fatalf("no seed caught the shell that %s", mutant)
}

func lostObjects(w *world) bool { return len(w.missing()) > 0 }

func resentTooMuch(w *world) bool { return w.maxResent() > w.cfg.Window }

// TestPropertyCatchesCursorBeforeMerge is the negative control of the
// "every object merged" check: a shell that stores the cursor before the
// batch's merge is durable loses the batch when it crashes in between.
func TestPropertyCatchesCursorBeforeMerge(t *testing.T) {
	mutantCaught(t, "stores the cursor before the merge", func(w *world) { w.mutCursorEarly = true }, lostObjects)
}

// TestPropertyCatchesIgnoredCursor is the negative control of the re-send
// bound: a shell that restarts a transfer from the start after a crash
// re-sends more than a window.
func TestPropertyCatchesIgnoredCursor(t *testing.T) {
	mutantCaught(t, "ignores the durable cursor", func(w *world) { w.mutIgnoreCursor = true }, resentTooMuch)
}

// TestPropertyCatchesEarlyAck is a further control of the re-send bound: a
// shell that acks batches before they are durable lets the sender run more
// than a window ahead of what a crash keeps.
func TestPropertyCatchesEarlyAck(t *testing.T) {
	mutantCaught(t, "acks before the merge is durable", func(w *world) { w.mutAckOnReceipt = true }, resentTooMuch)
}

// TestPropertyCleanRun: with no faults nothing is re-sent, every object is
// merged exactly once, and the stats add up.
func TestPropertyCleanRun(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 9))
		cfg := Config{Window: 1 + rng.IntN(4), MaxObjects: 1 + rng.IntN(40), MaxBytes: 64 + rng.IntN(4096)}
		w := newWorld(seed, cfg, source(rng, rng.IntN(500), 200))
		var last Stats
		w.onDone = func(s Stats) { last = s }
		if !w.run(10 * time.Minute) {
			t.Fatalf("seed %d: not done", seed)
		}
		for _, o := range w.src {
			if n := w.merged[string(o.Key)]; n != 1 {
				t.Fatalf("seed %d: %q merged %d times", seed, o.Key, n)
			}
		}
		if w.sentTotal != int(last.Batches) || last.Objects != int64(len(w.src)) || last.Resent != 0 ||
			last.Sessions != 1 || last.Failures != 0 || last.Exchanges != 1 {
			t.Fatalf("seed %d: stats %+v, %d batches sent, %d objects", seed, last, w.sentTotal, len(w.src))
		}
	}
}
