package nemesis_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/history"
	"github.com/shoalkv/shoal/internal/nemesis"
	"github.com/shoalkv/shoal/internal/netfault"
	"github.com/shoalkv/shoal/internal/testcluster"
)

// processState is the state letter of /proc/pid/stat: R, S, T (stopped)...
func processState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("pid %d: %v", pid, err)
	}
	// "pid (comm) S ...": the state follows the last ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return f[0]
}

// requireHealthy checks that every node's process is alive and not
// stopped, and that cl can write and read.
func requireHealthy(t *testing.T, c *testcluster.Cluster, cl *driver.Client) {
	t.Helper()
	for i, n := range c.Nodes {
		if !c.Running(i) {
			t.Fatalf("%s is not running", n.ID)
		}
		pid := c.PID(i)
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("%s (pid %d): %v", n.ID, pid, err)
		}
		if s := processState(t, pid); s == "T" || s == "Z" {
			t.Fatalf("%s (pid %d) is in state %s", n.ID, pid, s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, val := []byte("after-nemesis"), []byte("healthy")
	if _, err := cl.Put(ctx, key, val, nil); err != nil {
		t.Fatalf("put after Run: %v", err)
	}
	got, err := cl.Get(ctx, key, driver.WithR(3))
	if err != nil || len(got.Values) != 1 || !bytes.Equal(got.Values[0], val) {
		t.Fatalf("get after Run from all three replicas: %v, %v", got.Values, err)
	}
}

// observer records events in a history and keeps them for assertions.
type observer struct {
	mu  sync.Mutex
	ev  []nemesis.Event
	rec func(nemesis.Event)
}

func (o *observer) observe(e nemesis.Event) {
	o.rec(e)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ev = append(o.ev, e)
}

func (o *observer) count(p nemesis.Phase, k nemesis.Kind) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, e := range o.ev {
		if e.Phase == p && e.Fault.Kind == k && e.Err == nil {
			n++
		}
	}
	return n
}

func TestKillAndPauseCycleOnRealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts storaged processes")
	}
	c := testcluster.Start(t, testcluster.Options{})
	cl := c.Client(nil)
	before := make([]int, len(c.Nodes))
	for i := range c.Nodes {
		before[i] = c.PID(i)
	}
	rec := history.New()
	obs := &observer{rec: nemesis.NoteTo(rec)}
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	err := nemesis.New(c, nil).Run(ctx, nemesis.Plan{
		Cycle:   []nemesis.Kind{nemesis.Kill, nemesis.Pause},
		Rand:    rand.New(rand.NewPCG(1, 2)),
		For:     500 * time.Millisecond,
		Gap:     300 * time.Millisecond,
		Observe: obs.observe,
	})
	for _, e := range rec.Events() {
		t.Logf("%8v %s", e.Time.Round(time.Millisecond), e.Text)
	}
	if err != nil {
		t.Fatal(err)
	}
	if obs.count(nemesis.Begin, nemesis.Kill) == 0 || obs.count(nemesis.Begin, nemesis.Pause) == 0 {
		t.Fatal("the cycle did not both kill and pause a node")
	}
	restarted := 0
	for i := range c.Nodes {
		if c.PID(i) != before[i] {
			restarted++
		}
	}
	if restarted == 0 {
		t.Fatal("no node has a new pid after kills")
	}
	requireHealthy(t, c, cl)
}

func TestPartitionOnRealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts storaged processes")
	}
	net := netfault.New(t)
	c := testcluster.Start(t, testcluster.Options{})
	clientIP := c.ClientIP(0)
	cl := c.Client(func(cfg *driver.Config) { cfg.LocalAddr = clientIP + ":0" })
	rec := history.New()
	var rules []string
	obs := &observer{rec: func(e nemesis.Event) {
		rec.Note(nemesis.Process, e.String())
		if e.Phase == nemesis.Begin && rules == nil {
			rules, _ = net.Rules()
		}
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err := nemesis.New(c, net).Run(ctx, nemesis.Plan{
		Cycle:     []nemesis.Kind{nemesis.Partition},
		Rand:      rand.New(rand.NewPCG(3, 4)),
		For:       500 * time.Millisecond,
		Gap:       200 * time.Millisecond,
		ClientIPs: []string{clientIP},
		Observe:   obs.observe,
	})
	for _, e := range rec.Events() {
		t.Logf("%8v %s", e.Time.Round(time.Millisecond), e.Text)
	}
	if err != nil {
		t.Fatal(err)
	}
	if obs.count(nemesis.Begin, nemesis.Partition) == 0 {
		t.Fatal("no partition began")
	}
	// 3 nodes and a client: 1 node, maybe with the client, against the
	// rest, so 2x3 or 2x2 drop rules (one per source and destination).
	if len(rules) != 6 && len(rules) != 4 {
		t.Fatalf("rules during the partition: %q", rules)
	}
	if left, err := net.Rules(); err != nil || len(left) != 0 {
		t.Fatalf("rules after Run: %q, %v", left, err)
	}
	requireHealthy(t, c, cl)
}
