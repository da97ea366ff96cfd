package storaged_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// repairPoll is how often these tests poll a repair's progress.
const repairPoll = 100 * time.Millisecond

// startRepair asks member id, as the test client (a client certificate),
// to repair parts (none: every partition it replicates).
func (c *testCluster) startRepair(id string, parts ...uint32) (wire.RepairProgress, error) {
	var ok wire.RepairOK
	err := c.call(id, &wire.Repair{Partitions: parts}, &ok)
	return ok.Repair, err
}

// awaitRepair polls member id's repair rid every repairPoll until it is
// done, and returns its final progress.
func (c *testCluster) awaitRepair(id string, rid uint64) wire.RepairProgress {
	c.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		var ok wire.RepairOK
		c.must(id, &wire.RepairStatus{ID: rid}, &ok)
		if ok.Repair.ID != rid {
			c.t.Fatalf("%s: status of repair %x answered repair %x", id, rid, ok.Repair.ID)
		}
		if !ok.Repair.Running {
			return ok.Repair
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: repair %x still runs after %v: %+v", id, rid, testTimeout, ok.Repair)
		}
		time.Sleep(repairPoll)
	}
}

// repair runs a repair of parts on member id to its end.
func (c *testCluster) repair(id string, parts ...uint32) wire.RepairProgress {
	c.t.Helper()
	p, err := c.startRepair(id, parts...)
	if err != nil {
		c.t.Fatalf("%s: repair: %v", id, err)
	}
	if !p.Running || p.ID == 0 || p.Partitions == 0 {
		c.t.Fatalf("%s: repair started as %+v; want running, with an id and partitions", id, p)
	}
	return c.awaitRepair(id, p.ID)
}

// writeN1N2 writes n keys of value through n1 and replicates them to n2
// only, and returns what each holds.
func (c *testCluster) writeN1N2(n int, value string) map[string]dvv.Set {
	c.t.Helper()
	want := make(map[string]dvv.Set)
	for i := range n {
		k := fmt.Sprintf("key-%02d", i)
		want[k] = c.coordinate("n1", "", k, value, nil)
		c.must("n2", &wire.Replicate{Key: []byte(k), Object: want[k]}, &wire.Ack{})
	}
	return want
}

// TestRepairBringsBackAStaleReplica: with anti-entropy off everywhere, n3
// misses 20 keys that n1 and n2 hold, and still misses them all 10
// intervals later (the control: nothing else repairs). A repair asked of
// n3 (which fetches) or of n1 (which pushes) brings n3 every key: the
// repair's progress, the node's anti-entropy counters and its status say
// so, and every node's trees still match its store.
func TestRepairBringsBackAStaleReplica(t *testing.T) {
	for _, asker := range []string{"n3", "n1", ""} {
		t.Run("asker="+asker, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 3, antiEntropy("none"))
				c.start("n1")
				c.start("n2")
				want := c.writeN1N2(20, "v")
				c.start("n3")
				waitUntil(time.Now().Add(10 * aeInterval))
				if miss := c.missing("n3", want); len(miss) != len(want) {
					t.Fatalf("control: with anti-entropy off and no repair n3 holds %d of %d keys", len(want)-len(miss), len(want))
				}
				if asker == "" {
					return
				}
				p := c.repair(asker)
				if miss := c.missing("n3", want); len(miss) != 0 {
					t.Fatalf("after a repair by %s n3 misses %v; progress %+v", asker, miss, p)
				}
				// 3 nodes at n=3: each replicates every partition, with 2 peers.
				if p.Partitions != aePartitions || p.PartitionsDone != aePartitions || p.Exchanges != 2*aePartitions ||
					p.Failed != 0 || p.Failures != nil || p.KeysRepaired != uint64(len(want)) {
					t.Fatalf("repair by %s ended as %+v; want %d partitions done, %d exchanges, none failed, %d keys repaired",
						asker, p, aePartitions, 2*aePartitions, len(want))
				}
				st := c.status(asker)
				if st.Repair.ID != p.ID || st.Repair.Running || st.AEPartitions != 2*aePartitions || st.AEKeysRepaired != uint64(len(want)) ||
					st.TreesRebuilding != 0 {
					t.Fatalf("%s status after the repair: repair %+v, %d exchanges, %d keys repaired, %d trees rebuilding",
						asker, st.Repair, st.AEPartitions, st.AEKeysRepaired, st.TreesRebuilding)
				}
				for _, id := range []string{"n1", "n2", "n3"} {
					c.checkTrees(id)
				}
			})
		})
	}
}

// TestRepairRefusals: a repair of a partition the node does not replicate
// is refused as a mismatch naming it, one out of the ring's range as a bad
// request, and a list with one of those starts nothing; so is the status
// of a repair the node does not hold. Before any repair the latest is the
// zero progress. The control: a partition the node replicates starts a
// repair of that one partition, which status then shows.
func TestRepairRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 4, antiEntropy("none"))
		c.start("n1")
		_, mine, other := c.replicatedByN1()
		var latest wire.RepairOK
		c.must("n1", &wire.RepairStatus{}, &latest)
		if latest.Repair.ID != 0 || latest.Repair.Running {
			t.Fatalf("latest repair before any: %+v, want none", latest.Repair)
		}
		for _, tc := range []struct {
			name  string
			parts []uint32
			is    error
			says  string
		}{
			{"not replicated", []uint32{uint32(other)}, wire.ErrMismatch, fmt.Sprintf("does not replicate partition %d", other)},
			{"out of range", []uint32{aePartitions}, wire.ErrBadRequest, "the ring has 16 partitions"},
			{"one bad of two", []uint32{uint32(mine), uint32(other)}, wire.ErrMismatch, fmt.Sprintf("does not replicate partition %d", other)},
		} {
			_, err := c.startRepair("n1", tc.parts...)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "no repair started") {
				t.Errorf("%s: %v, want %v saying %q and that no repair started", tc.name, err, tc.is, tc.says)
			}
		}
		if st := c.status("n1"); st.Repair.ID != 0 {
			t.Fatalf("a refused repair shows in status: %+v", st.Repair)
		}
		err := c.call("n1", &wire.RepairStatus{ID: 12345}, &wire.RepairOK{})
		if !errors.Is(err, wire.ErrBadRequest) || !strings.Contains(err.Error(), "holds no repair") {
			t.Fatalf("status of an unknown repair: %v, want a bad request saying it holds none", err)
		}
		p, err := c.startRepair("n1", uint32(mine), uint32(mine))
		if err != nil || p.Partitions != 1 || !p.Running {
			t.Fatalf("control: repair of replicated partition %d (asked twice): %+v, %v; want one partition, running", mine, p, err)
		}
		if st := c.status("n1"); st.Repair.ID != p.ID {
			t.Fatalf("status shows repair %x, want the one started, %x", st.Repair.ID, p.ID)
		}
	})
}

// TestRepairOneAtATime: n3 is down, so n1's repair takes a handshake
// timeout; meanwhile a second repair, of everything or of one partition,
// is refused as busy (a refusal that applied nothing) naming the running
// one. The running repair then ends with every exchange with n2 done and
// every one with n3 failed (the first, then the rest skipped), each named
// by partition and peer; the control, a repair asked once it is done,
// starts.
func TestRepairOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3, antiEntropy("none"))
		c.start("n1")
		c.start("n2")
		first, err := c.startRepair("n1")
		if err != nil {
			t.Fatal(err)
		}
		for _, parts := range [][]uint32{nil, {3}} {
			_, err := c.startRepair("n1", parts...)
			if !errors.Is(err, wire.ErrBusy) || !strings.Contains(err.Error(), fmt.Sprintf("runs repair %016x already", first.ID)) {
				t.Fatalf("a second repair (%v) while one runs: %v, want ErrBusy naming %016x", parts, err, first.ID)
			}
			if cl := wire.ClassOf(err); cl != wire.ClassNotApplied {
				t.Fatalf("busy is class %s, want %s", cl, wire.ClassNotApplied)
			}
		}
		p := c.awaitRepair("n1", first.ID)
		if p.Exchanges != aePartitions || p.Failed != aePartitions || len(p.Failures) != aePartitions || p.PartitionsDone != aePartitions {
			t.Fatalf("repair with n3 down ended as %+v; want %d exchanges done, %d failed and listed", p, aePartitions, aePartitions)
		}
		for i, f := range p.Failures {
			if f.Peer != "n3" || f.Partition != uint32(i) || (i > 0) != strings.Contains(f.Error, "skipped: n3 failed earlier") {
				t.Fatalf("failure %d: %+v; want partition %d with n3, skipped after the first", i, f, i)
			}
		}
		if p.TookMS < uint64(handshakeTimeout.Milliseconds()) {
			t.Fatalf("repair took %dms, less than the handshake timeout it waited out", p.TookMS)
		}
		again, err := c.startRepair("n1")
		if err != nil || again.ID == first.ID {
			t.Fatalf("control: a repair after the first ended: %+v, %v; want a new one", again, err)
		}
	})
}

// TestRepairSharesTheThrottle: n3, empty, runs its scheduled cycle at
// AntiEntropyRate 16 KiB/s, and a repair of its upper half of partitions
// starts with it; 40 objects of 4 KiB are to be fetched. The cycle and the
// repair share one byte throttle, so 2 s in n3 holds at most what the
// bucket's burst and 2 s of refill pay for (48 KiB: under 12 objects), and
// later it holds everything. The control, a repair with a throttle of its
// own, fetches more than that in the same 2 s.
func TestRepairSharesTheThrottle(t *testing.T) {
	const rate, size, keys = 16 << 10, 4 << 10, 40
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprintf("own=%v", own), func(t *testing.T) {
			if own {
				t.Cleanup(storaged.SetRepairOwnThrottle())
			}
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 3, func(cfg *storaged.Config) {
					antiEntropy("n3")(cfg)
					cfg.AntiEntropyRate = rate
				})
				c.start("n1")
				c.start("n2")
				c.start("n3")
				want := c.writeN1N2(keys, strings.Repeat("v", size))
				first := c.started["n3"].Add(aeInterval)
				waitUntil(first.Add(-time.Nanosecond))
				var upper []uint32
				for p := aePartitions / 2; p < aePartitions; p++ {
					upper = append(upper, uint32(p))
				}
				if _, err := c.startRepair("n3", upper...); err != nil {
					t.Fatal(err)
				}
				waitUntil(first.Add(2 * time.Second))
				held := keys - len(c.missing("n3", want))
				paid := (rate + 2*rate) / size // objects the burst and 2 s pay for, metadata aside
				if own {
					if held <= paid {
						t.Fatalf("control: with a throttle of its own the repair and the cycle fetched only %d objects in 2s; want more than %d", held, paid)
					}
					return
				}
				if held > paid {
					t.Fatalf("n3 fetched %d objects of %d B in 2s at %d B/s; want at most %d: the repair bypasses the cycle's throttle", held, size, rate, paid)
				}
				waitUntil(first.Add(30 * time.Second))
				if miss := c.missing("n3", want); len(miss) != 0 {
					t.Fatalf("at %d B/s n3 still misses %v after 30s", rate, miss)
				}
			})
		})
	}
}
