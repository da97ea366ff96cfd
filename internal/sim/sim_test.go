package sim

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/internal/mutant"
	"github.com/shoalkv/shoal/internal/setvalue"
)

// Seeds: go test runs defaultSeeds seeds; SHOAL_SIM_SEEDS=n runs n, from
// SHOAL_SIM_FIRST (default 1); SHOAL_SIM_SEED=s runs seed s alone, with
// its progress logged.
const defaultSeeds = 12

func envInt(t *testing.T, name string, def uint64) uint64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// seeds returns the seeds to run, and whether one was asked for alone.
func seeds(t *testing.T) ([]uint64, bool) {
	if s := os.Getenv("SHOAL_SIM_SEED"); s != "" {
		return []uint64{envInt(t, "SHOAL_SIM_SEED", 0)}, true
	}
	n, first := envInt(t, "SHOAL_SIM_SEEDS", defaultSeeds), envInt(t, "SHOAL_SIM_FIRST", 1)
	out := make([]uint64, n)
	for i := range out {
		out[i] = first + uint64(i)
	}
	return out, false
}

// regressionSeeds reads testdata/seeds.txt: seeds that once failed, one
// per line with a comment after '#'.
func regressionSeeds(t *testing.T) []uint64 {
	f, err := os.Open("testdata/seeds.txt")
	if err != nil {
		t.Fatalf("regression seeds: %v", err)
	}
	defer f.Close()
	var out []uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		s, err := strconv.ParseUint(line, 10, 64)
		if err != nil {
			t.Fatalf("testdata/seeds.txt: %q: %v", line, err)
		}
		out = append(out, s)
	}
	return out
}

// runSeed runs one seed in a synctest bubble and returns its result.
func runSeed(t *testing.T, cfg Config, verbose bool) Result {
	t.Helper()
	var res Result
	synctest.Test(t, func(t *testing.T) {
		if verbose {
			start := time.Now()
			cfg.Log = func(s string) { t.Logf("%8v %s", time.Since(start).Round(time.Millisecond), s) }
		}
		var err error
		res, err = Run(cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", cfg.Seed, err)
		}
	})
	return res
}

func rerun(seed uint64) string {
	return fmt.Sprintf("SHOAL_SIM_SEED=%d go test -count=1 -v -run 'TestSetWorkload$' ./internal/sim/", seed)
}

// TestSetWorkload runs the set workload under each seed's random mix of
// crashes (losing unsynced writes), pauses, partitions, message loss and
// clock jumps: no acknowledged add may be lost, and every hint delivered.
func TestSetWorkload(t *testing.T) {
	list, alone := seeds(t)
	for _, seed := range list {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			if !alone {
				t.Parallel()
			}
			res := runSeed(t, Config{Seed: seed}, alone)
			if !res.Valid() {
				t.Fatalf("seed %d broke a promise:\n%s\nrerun: %s\nif it is a bug, add the seed to internal/sim/testdata/seeds.txt with the fix", seed, res, rerun(seed))
			}
			if res.Acked < 100 {
				t.Fatalf("seed %d: only %d adds acknowledged: the run did too little to show anything\n%s", seed, res.Acked, res)
			}
			if alone {
				t.Logf("%s", res)
			}
		})
	}
}

// TestRegressionSeeds reruns the seeds that once found a bug.
func TestRegressionSeeds(t *testing.T) {
	for _, seed := range regressionSeeds(t) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			if res := runSeed(t, Config{Seed: seed}, false); !res.Valid() {
				t.Fatalf("regression seed %d broke a promise again:\n%s\nrerun: %s", seed, res, rerun(seed))
			}
		})
	}
}

// TestLastWriteWinsLosesAdds is the negative control: the same runs with a
// resolver that keeps one sibling and drops the rest must lose adds, which
// shows the workload and the checker can see lost data.
func TestLastWriteWinsLosesAdds(t *testing.T) {
	lost := 0
	for seed := range uint64(3) {
		res := runSeed(t, Config{Seed: seed + 1, Resolve: setvalue.LastWriteWins}, false)
		lost += res.Report.Total.Lost
	}
	if lost == 0 {
		t.Fatal("last-write-wins lost no add in 3 seeds: the simulator cannot see lost data")
	}
	t.Logf("last-write-wins lost %d acknowledged adds over 3 seeds", lost)
}

// TestInjectedOverwriteBugIsCaught turns on a deliberate bug (a replica
// that overwrites what it holds instead of merging) and runs the default
// seeds: the simulator must report lost adds within them. It is not
// parallel, so the switch touches no other test's servers.
func TestInjectedOverwriteBugIsCaught(t *testing.T) {
	mutant.Set(mutant.ReplicateOverwrites, true)
	defer mutant.Set(mutant.ReplicateOverwrites, false)
	for seed := uint64(1); seed <= defaultSeeds; seed++ {
		res := runSeed(t, Config{Seed: seed}, false)
		if !res.Valid() {
			t.Logf("seed %d caught the injected bug: %d acknowledged adds lost", seed, res.Report.Total.Lost)
			return
		}
	}
	t.Fatalf("a replica that overwrites instead of merging lost nothing in %d seeds: the simulator cannot see the bug", defaultSeeds)
}

// TestRerunReplaysPlan: a seed always gives the same fault plan and the
// same workload choices. The interleaving of goroutines is the Go
// scheduler's, so a rerun's history may differ; the test reports whether
// it did (docs/SIMULATOR.md has the measured rate).
func TestRerunReplaysPlan(t *testing.T) {
	const seed = 7
	a := runSeed(t, Config{Seed: seed, Duration: 10 * time.Second}, false)
	b := runSeed(t, Config{Seed: seed, Duration: 10 * time.Second}, false)
	if a.Plan.String() != b.Plan.String() {
		t.Fatalf("seed %d gave two plans:\n%s\n%s", seed, a.Plan, b.Plan)
	}
	if len(a.Plan.Faults) == 0 {
		t.Fatal("a 10s run planned no fault")
	}
	t.Logf("same plan (%d faults); same history: %v (%d and %d adds acknowledged)", len(a.Plan.Faults), a.Fingerprint == b.Fingerprint, a.Acked, b.Acked)
}

// TestInjectedTombstoneBugIsCaught turns on a deliberate bug (a tombstone
// that supersedes every version its coordinator holds, not only those the
// delete read) in runs that delete: the simulator must report adds lost
// that no delete had read. Not parallel, like the other injected bug.
func TestInjectedTombstoneBugIsCaught(t *testing.T) {
	mutant.Set(mutant.TombstoneCoversAll, true)
	defer mutant.Set(mutant.TombstoneCoversAll, false)
	for seed := uint64(1); seed <= defaultSeeds; seed++ {
		res := runSeed(t, Config{Seed: seed, Deletes: 0.1}, false)
		if res.Report.Total.Lost > 0 {
			t.Logf("seed %d caught the injected bug: %d acknowledged adds lost", seed, res.Report.Total.Lost)
			return
		}
	}
	t.Fatalf("a tombstone that covers everything lost nothing in %d seeds: the simulator cannot see over-deletion", defaultSeeds)
}
