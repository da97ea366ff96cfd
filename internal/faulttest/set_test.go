package faulttest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/history"
	"github.com/shoalkv/shoal/internal/nemesis"
	"github.com/shoalkv/shoal/internal/netfault"
	"github.com/shoalkv/shoal/internal/setvalue"
	"github.com/shoalkv/shoal/internal/testcluster"
)

// resolver folds an Update's siblings and adds one element.
type resolver func(siblings [][]byte, add uint64, now int64) ([]byte, error)

// TestSetWorkloadLosesNoAcknowledgedAdd is Jepsen's "set" test: 5 clients,
// each bound to its own address, add unique elements to 10 keys through
// Update with a set-union resolver for 60s, while a nemesis kills a node
// with kill -9 and restarts it, pauses one for 10s, and partitions the
// cluster into {2 nodes} | {3 nodes} with the clients split between the
// sides. After healing and a quiet period (every hint delivered) each key
// is read from all its primaries: every acknowledged add must be there.
func TestSetWorkloadLosesNoAcknowledgedAdd(t *testing.T) {
	t.Parallel()
	rep := runSetWorkload(t, setvalue.Union)
	if !rep.Valid() {
		t.Fatalf("the set workload lost or invented data:\n%s", rep)
	}
	if rep.Total.Acknowledged < 200 {
		t.Fatalf("only %d adds acknowledged: the workload did too little to show anything", rep.Total.Acknowledged)
	}
}

// TestSetWorkloadLastWriteWinsLosesAdds is the negative control: the same
// run with a last-write-wins resolver, which drops concurrent siblings,
// must report lost adds. It shows the checker and the workload can fail.
func TestSetWorkloadLastWriteWinsLosesAdds(t *testing.T) {
	t.Parallel()
	rep := runSetWorkload(t, setvalue.LastWriteWins)
	if rep.Total.Lost == 0 {
		t.Fatalf("last-write-wins lost no add: the checker or the workload cannot see lost data\n%s", rep)
	}
}

const (
	setClients  = 5
	setKeys     = 10
	setDuration = 60 * time.Second
)

func runSetWorkload(t *testing.T, resolve resolver) history.SetReport {
	c := testcluster.Start(t, testcluster.Options{Nodes: 5})
	net := netfault.New(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, nodes %v", seed, c.NodeIPs())
	rng := rand.New(rand.NewPCG(seed, 0x5e7))
	rec := history.New()

	clients := make([]*driver.Client, setClients)
	clientIPs := make([]string, setClients)
	for i := range clients {
		clientIPs[i] = c.ClientIP(i)
		clients[i] = c.Client(func(cfg *driver.Config) { cfg.LocalAddr = clientIPs[i] + ":0" })
	}

	ctx, cancel := context.WithTimeout(context.Background(), setDuration)
	defer cancel()
	var (
		nextElem    atomic.Uint64
		maxSiblings atomic.Int64
		wg          sync.WaitGroup
	)
	for i, cl := range clients {
		crng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() {
			for ctx.Err() == nil {
				key := fmt.Sprintf("set-%d", crng.IntN(setKeys))
				elem := nextElem.Add(1)
				op := rec.Invoke(i, history.AddF, key, elem)
				octx, ocancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := cl.Update(octx, []byte(key), func(sibs [][]byte) ([]byte, error) {
					for n := int64(len(sibs)); ; {
						m := maxSiblings.Load()
						if n <= m || maxSiblings.CompareAndSwap(m, n) {
							break
						}
					}
					return resolve(sibs, elem, time.Now().UnixNano())
				})
				ocancel()
				switch {
				case err == nil:
					op.Ok()
				case errors.Is(err, driver.ErrUnknownOutcome):
					op.Unknown(err)
				default:
					op.Fail(err)
				}
			}
		})
	}

	plan := setPlan(rng, c, clientIPs)
	plan.Observe = func(e nemesis.Event) {
		rec.Note(nemesis.Process, e.String())
		t.Log(e.String())
	}
	nerr := nemesis.New(c, net).Run(ctx, plan)
	wg.Wait()
	if nerr != nil {
		t.Fatalf("nemesis: %v", nerr)
	}

	// Quiet period: every node up, every hint delivered.
	qctx, qcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer qcancel()
	d := waitHintsDrained(t, qctx, clients[0], 90*time.Second)
	t.Logf("hints drained %v after healing", d.Round(time.Millisecond))

	final := make(map[string]history.Read, setKeys)
	for k := range setKeys {
		key := fmt.Sprintf("set-%d", k)
		v, err := clients[0].Get(qctx, []byte(key), driver.WithR(3), driver.WithPR(3))
		if err != nil && !errors.Is(err, driver.ErrNotFound) {
			t.Fatalf("final read of %s: %v", key, err)
		}
		s, err := setvalue.Merge(v.Values)
		if err != nil {
			t.Fatalf("final read of %s: %v", key, err)
		}
		final[key] = history.Read{Elements: s.Elements, Siblings: len(v.Values)}
	}
	rep, err := history.CheckSet(rec.Events(), final)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	path := filepath.Join(artifactDir(t), t.Name()+".jsonl")
	if err := rec.WriteJSONL(path); err != nil {
		t.Errorf("write history: %v", err)
	}
	t.Logf("history: %s; max siblings an Update saw: %d\n%s", path, maxSiblings.Load(), rep)
	return rep
}

// setPlan is the nemesis schedule of a 60s run: a kill -9 and restart, a
// 10s pause, a {2 nodes} | {3 nodes} partition with the clients split, and
// another kill, on nodes drawn from rng.
func setPlan(rng *rand.Rand, c *testcluster.Cluster, clientIPs []string) nemesis.Plan {
	nodes := rng.Perm(len(c.Nodes))
	side := rng.Perm(len(clientIPs))[:len(clientIPs)/2]
	var sideIPs []string
	for _, i := range side {
		sideIPs = append(sideIPs, clientIPs[i])
	}
	return nemesis.Plan{
		ClientIPs: clientIPs,
		Faults: []nemesis.Fault{
			{Kind: nemesis.Kill, At: 4 * time.Second, For: 6 * time.Second, Nodes: []int{nodes[0]}},
			{Kind: nemesis.Pause, At: 15 * time.Second, For: 10 * time.Second, Nodes: []int{nodes[1]}},
			{Kind: nemesis.Partition, At: 30 * time.Second, For: 12 * time.Second, Nodes: nodes[2:4], Clients: sideIPs},
			{Kind: nemesis.Kill, At: 47 * time.Second, For: 5 * time.Second, Nodes: []int{nodes[4]}},
		},
	}
}

// artifactDir is where histories are written: $SHOAL_ARTIFACTS if set (CI
// keeps it), else the test's temporary directory.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("SHOAL_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err == nil {
			return d
		}
	}
	return t.TempDir()
}
