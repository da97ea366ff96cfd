package faulttest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/netfault"
	"github.com/shoalkv/shoal/internal/testcluster"
	"github.com/shoalkv/shoal/ringsync/ring"
)

const (
	cutKeys    = 10_000
	cutWriters = 16
	cutLimit   = 60 * time.Second
	// cutAEInterval is the anti-entropy interval of every node: 2 s
	// instead of the default 30 s, so that cycles start well within the
	// limit and the test stays short.
	cutAEInterval = "2s"
	cutNode       = "n3"
)

// TestCutReplicaConvergesWithNoReads is issue 10's 5-node acceptance test:
// N=3, W=2, anti-entropy every 2 s. One node (n3) is cut off by iptables
// from the other nodes and the writer while 10,000 keys are written by 16
// parallel writers; then the cut heals and nothing reads. Within 60 s
// every primary of every key must hold every acknowledged write in its
// objects bucket, asked directly (inspector: a node's answers count only
// while it holds no hint record, so they are its objects alone).
//
// Hint delivery stays on, as in production: the test proves the cluster
// converges by itself with no reads, and logs what anti-entropy and
// delivery each did. TestCutReplicaConvergesByAntiEntropyAlone holds the
// hints back. The negative control runs in the same cluster: just before
// the heal, the same sweep of n3's copies must find every one missing.
func TestCutReplicaConvergesWithNoReads(t *testing.T) {
	runCut(t, "--anti-entropy-interval="+cutAEInterval)
}

// TestCutReplicaConvergesByAntiEntropyAlone is the same run with hints held
// back (--hint-interval=1h: no delivery pass within the test), so that
// anti-entropy alone must bring n3 its ~6,000 missing copies within 60 s;
// it checks that no hint was delivered.
func TestCutReplicaConvergesByAntiEntropyAlone(t *testing.T) {
	m := runCut(t, "--anti-entropy-interval="+cutAEInterval, "--hint-interval=1h")
	if m.delivered != 0 || m.aeRepaired == 0 {
		t.Fatalf("not shown to be anti-entropy alone: %d hints delivered, %d keys repaired by anti-entropy", m.delivered, m.aeRepaired)
	}
}

// runCut runs the scenario on a 5-node cluster whose nodes all get args,
// fails the test unless it converges within cutLimit, and returns what the
// mechanisms did, summed over the nodes.
func runCut(t *testing.T, args ...string) mechanisms {
	nf := netfault.New(t) // skips unless root with iptables, before starting anything
	c := testcluster.Start(t, testcluster.Options{Nodes: 5, Args: args})
	ctx := ctxT(t, 3*time.Minute)
	writer := c.ClientIP(0)
	cl := c.Client(func(cfg *driver.Config) { cfg.LocalAddr = writer + ":0" })
	in := newInspector(t, ctx, c)
	r := in.r
	cut := c.NodeIP(nodeIndex(t, c, cutNode))
	others := append(slices.DeleteFunc(c.NodeIPs(), func(ip string) bool { return ip == cut }), writer)
	if err := nf.Isolate(cut, others); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (%s) cut off from %v; storaged flags %v", cutNode, cut, others, args)

	start := time.Now()
	writes, failed := writeParallel(ctx, cl, "cut", cutKeys, cutWriters)
	cl.Close() // its background replication ends first: no write after this
	t.Logf("%d of %d puts acknowledged at W=2 in %v by %d writers (%d failed)",
		len(writes), cutKeys, time.Since(start).Round(time.Millisecond), cutWriters, len(failed))
	if len(failed) > cutKeys/100 {
		t.Fatalf("%d of %d puts failed with one node of five cut off; first: %v", len(failed), cutKeys, failed[0])
	}

	// Control: the cut node saw none of the writes, and the check says so.
	onCut := copiesOn(r, 3, writes, func(id ring.NodeID) bool { return id == cutNode })
	left, last := in.sweep(ctx, writes, onCut)
	if len(left) != len(onCut) || last.counts[missing] != len(onCut) {
		t.Fatalf("control: before the heal %s should miss all %d of its copies; the check finds %d missing: %s", cutNode, len(onCut), len(left), last)
	}
	t.Logf("control: before the heal the check finds all %d of %s's copies missing", len(onCut), cutNode)

	if err := nf.Heal(); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	all := copiesOn(r, 3, writes, nil)
	took, left, last := in.await(ctx, writes, all, cutLimit)
	sts, errs := in.statuses(ctx)
	m := sumMechanisms(t, sts, errs)
	if len(left) > 0 || took > cutLimit {
		t.Fatalf("%v after the heal, %d of %d primary copies not shown held (limit %v): %s; anti-entropy %d keys repaired, hints %d delivered, %d pending",
			took.Round(time.Millisecond), len(left), len(all), cutLimit, last, m.aeRepaired, m.delivered, m.hints)
	}
	t.Logf("converged %v after the heal: all %d primary copies of %d acknowledged writes held, with no reads",
		time.Since(healed).Round(time.Millisecond), len(all), len(writes))
	for i, st := range sts {
		t.Logf("  %s: %d objects; anti-entropy %d exchanges, %d keys repaired, last cycle %d ms; hints %d delivered, %d pending",
			c.Nodes[i].ID, st.Objects, st.AEPartitions, st.AEKeysRepaired, st.AELastCycleMS, st.HintsDelivered, st.Hints)
	}
	return m
}

// writeParallel puts count distinct keys (prefix-i, value v-prefix-i) at
// W=2 through cl from writers goroutines and returns the acknowledged
// writes, in key order, and the errors of the others.
func writeParallel(ctx context.Context, cl *driver.Client, prefix string, count, writers int) ([]write, []error) {
	acked := make([]bool, count)
	all := make([]write, count)
	var (
		next   atomic.Int64
		mu     sync.Mutex
		failed []error
		wg     sync.WaitGroup
	)
	for range writers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < count; i = int(next.Add(1) - 1) {
				w := write{key: fmt.Appendf(nil, "%s-%05d", prefix, i), value: fmt.Appendf(nil, "v-%s-%05d", prefix, i)}
				all[i] = w
				if _, err := cl.Put(ctx, w.key, w.value, nil, driver.WithW(2)); err != nil {
					mu.Lock()
					failed = append(failed, fmt.Errorf("put %s: %w", w.key, err))
					mu.Unlock()
					continue
				}
				acked[i] = true
			}
		})
	}
	wg.Wait()
	var out []write
	for i, ok := range acked {
		if ok {
			out = append(out, all[i])
		}
	}
	return out, failed
}
