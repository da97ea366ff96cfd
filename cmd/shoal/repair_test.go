package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/localcluster"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// testPartitions keeps the test nodes' rings small, so a repair of every
// partition is a few hundred round trips.
const testPartitions = 64

// devCluster is a dev cluster directory (made by localcluster, so the
// commands find it with --dev-dir alone) whose nodes this test starts and
// stops one by one, with scheduled anti-entropy off: only a repair repairs.
type devCluster struct {
	t    *testing.T
	dir  string
	file localcluster.File
	stop map[ring.NodeID]func()
}

// newDevCluster makes a 3-node dev cluster directory on a random port
// (another, if a node cannot bind it) and starts no node.
func newDevCluster(t *testing.T) *devCluster {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(t.TempDir(), "dev")
	for range 10 {
		cl, err := localcluster.Start(localcluster.Options{Dir: dir, Nodes: 3, Port: 20000 + rand.IntN(30000), NoSync: true, Logger: quiet})
		if err != nil {
			os.RemoveAll(dir)
			continue
		}
		if err := cl.Close(); err != nil {
			t.Fatal(err)
		}
		d := &devCluster{t: t, dir: dir, file: cl.File, stop: make(map[ring.NodeID]func())}
		for _, n := range d.file.Nodes {
			// Empty data directories of the default ring size: this test's
			// nodes start over with a smaller ring.
			if err := os.RemoveAll(filepath.Join(dir, string(n.ID))); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(d.stopAll)
		return d
	}
	t.Fatal("no port found free on 127.0.0.1-3 in 10 tries")
	return nil
}

// start runs node id on its data directory until stopped.
func (d *devCluster) start(id ring.NodeID) {
	d.t.Helper()
	certs := filepath.Join(d.dir, "certs")
	cert, key := pki.LeafFiles(certs, pki.RoleNode, string(id))
	mat, err := pki.Load(filepath.Join(certs, pki.CACertFile), cert, key)
	if err != nil {
		d.t.Fatal(err)
	}
	srv, err := storaged.New(storaged.Config{
		ID: id, DataDir: filepath.Join(d.dir, string(id)), ClusterID: d.file.ClusterID, InitialCluster: d.file.Nodes,
		TLS: mat, NoSync: true, Partitions: testPartitions, AntiEntropyInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		d.t.Fatalf("start %s: %v", id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	d.stop[id] = func() {
		cancel()
		if err := <-done; err != nil {
			d.t.Errorf("%s: %v", id, err)
		}
	}
}

// halt stops node id.
func (d *devCluster) halt(id ring.NodeID) {
	d.stop[id]()
	delete(d.stop, id)
}

func (d *devCluster) stopAll() {
	for id := range d.stop {
		d.halt(id)
	}
}

// client returns an endpoint with the dev cluster's client certificate.
func (d *devCluster) client() *wire.Endpoint {
	d.t.Helper()
	mat, err := localcluster.ClientMaterial(d.dir)
	if err != nil {
		d.t.Fatal(err)
	}
	ep, err := wire.NewEndpoint(wire.EndpointConfig{Addr: "127.0.0.1:0", TLS: mat, ClusterID: d.file.ClusterID,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { ep.Close() })
	return ep
}

// node returns the member id.
func (d *devCluster) node(id ring.NodeID) ring.Node {
	for _, n := range d.file.Nodes {
		if n.ID == id {
			return n
		}
	}
	d.t.Fatalf("no node %s", id)
	return ring.Node{}
}

// call sends req to node id.
func (d *devCluster) call(ep *wire.Endpoint, id ring.NodeID, req, resp any) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ep.Call(ctx, d.node(id).Addr, string(id), req, resp); err != nil {
		d.t.Fatalf("%s: %T: %v", id, req, err)
	}
}

// repair runs 'shoal repair' against the dev cluster with args, and
// returns its exit status and what it printed.
func (d *devCluster) repair(args ...string) (int, string) {
	var out, errs bytes.Buffer
	args = append([]string{"--dev-dir", d.dir, "--poll", "20ms"}, args...)
	code := exitStatus("repair", repairMain(args, &out), &errs)
	return code, out.String() + errs.String()
}

// TestRepairCommand runs 'shoal repair' against real nodes on loopback:
// n3 misses 20 keys that n1 and n2 hold (scheduled anti-entropy is off on
// every node). Repairing every node exits 0, shows each node's start and
// end and the totals, and leaves n3 holding every key, which it did not
// before (the control). With n3 stopped, repairing n2 while it repairs
// already is refused as busy, and repairing n1 shows it running
// while its first exchange with n3 waits out the handshake timeout, then
// exits 1 and names the partitions that failed with n3. Repairing one partition asks each of
// its replicas for it alone; a partition out of range and an unknown node
// are refused before any request.
func TestRepairCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 3 nodes on loopback")
	}
	d := newDevCluster(t)
	for _, id := range []ring.NodeID{"n1", "n2", "n3"} {
		d.start(id)
	}
	ep := d.client()
	const keys = 20
	for i := range keys {
		k := []byte(fmt.Sprintf("key-%02d", i))
		var obj wire.Object
		d.call(ep, "n1", &wire.Coordinate{Key: k, Value: []byte("v")}, &obj)
		d.call(ep, "n2", &wire.Replicate{Key: k, Object: obj.Object}, &wire.Ack{})
	}
	heldByN3 := func() int {
		held := 0
		for i := range keys {
			var g wire.GetOK
			d.call(ep, "n3", &wire.Get{Key: []byte(fmt.Sprintf("key-%02d", i))}, &g)
			if g.Found {
				held++
			}
		}
		return held
	}
	if h := heldByN3(); h != 0 {
		t.Fatalf("control: n3 holds %d keys before any repair, want 0", h)
	}

	code, out := d.repair()
	for _, want := range []string{
		"n1: repair ", "n2: repair ", "n3: repair ",
		fmt.Sprintf("started: %d partitions, each with its other replicas", testPartitions),
		"done in ", fmt.Sprintf(": %d/%d partitions, %d exchanges", testPartitions, testPartitions, 2*testPartitions),
		fmt.Sprintf("repair done: 3 nodes, %d partitions, %d exchanges, %d keys repaired, 0 exchanges failed", 3*testPartitions, 6*testPartitions, keys),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("shoal repair output lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Fatalf("shoal repair exited %d:\n%s", code, out)
	}
	if h := heldByN3(); h != keys {
		t.Fatalf("after shoal repair n3 holds %d of %d keys", h, keys)
	}

	code, out = d.repair("--partition", "5")
	if want := "repair done: 3 nodes, 3 partitions, 6 exchanges, 0 keys repaired, 0 exchanges failed"; code != 0 || !strings.Contains(out, want) {
		t.Fatalf("shoal repair --partition 5: exit %d, want 0 and %q:\n%s", code, want, out)
	}

	d.halt("n3")
	// A repair of n2 asked directly waits out a handshake timeout to n3:
	// meanwhile shoal repair of n2 is refused as busy.
	var running wire.RepairOK
	d.call(ep, "n2", &wire.Repair{}, &running)
	code, out = d.repair("--node", "n2")
	if want := fmt.Sprintf("n2: refused: wire: busy: node \"n2\" runs repair %016x already", running.Repair.ID); code != 1 || !strings.Contains(out, want) {
		t.Errorf("shoal repair --node n2 while n2 repairs: exit %d, want 1 and %q:\n%s", code, want, out)
	}
	code, out = d.repair("--node", "n1", "--poll", "100ms") // a handshake timeout, 3s, is 30 polls
	for _, want := range []string{
		"n1: repair ", " running: 0/64 partitions, 0 keys repaired, 0 exchanges failed, ",
		fmt.Sprintf("n1:   failed with n3: %d exchanges, partitions 0-%d: ", testPartitions, testPartitions-1),
		fmt.Sprintf("repair FAILED on n1: 1 nodes, %d partitions, %d exchanges, 0 keys repaired, %d exchanges failed", testPartitions, testPartitions, testPartitions),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("shoal repair --node n1 with n3 down: output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Fatalf("shoal repair --node n1 with n3 down exited %d, want 1:\n%s", code, out)
	}

	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--partition", fmt.Sprint(testPartitions)}, fmt.Sprintf("partition %d is out of range: the ring has %d partitions", testPartitions, testPartitions)},
		{[]string{"--node", "n9"}, `no node "n9" in the ring (members: n1, n2, n3)`},
	} {
		code, out := d.repair(tc.args...)
		if code != 1 || !strings.Contains(out, tc.says) || strings.Contains(out, "started") {
			t.Errorf("shoal repair %v: exit %d, want 1 saying %q and starting nothing:\n%s", tc.args, code, tc.says, out)
		}
	}
}

// TestRepairLines: the progress line of a running and of a finished
// repair, and failures grouped by peer with their partitions as ranges.
func TestRepairLines(t *testing.T) {
	run := wire.RepairProgress{ID: 0xab, Running: true, Partitions: 64, PartitionsDone: 10, KeysRepaired: 3, Failed: 1, TookMS: 1500}
	if got, want := repairLine(run), "repair 00000000000000ab running: 10/64 partitions, 3 keys repaired, 1 exchanges failed, 1.5s so far"; got != want {
		t.Errorf("running: %q, want %q", got, want)
	}
	done := wire.RepairProgress{ID: 0xab, Partitions: 64, PartitionsDone: 64, Exchanges: 120, Failed: 8 + wire.MaxRepairFailures, TookMS: 2000,
		Failures: wire.RepairFailures{
			{Partition: 3, Peer: "n3", Error: "dial failed"}, {Partition: 4, Peer: "n3", Error: "skipped"},
			{Partition: 7, Peer: "n2", Error: "remote storage failure"}, {Partition: 5, Peer: "n3", Error: "skipped"},
			{Partition: 9, Peer: "n3", Error: "skipped"},
		}}
	if got, want := repairLine(done), "repair 00000000000000ab done in 2s: 64/64 partitions, 120 exchanges, 0 keys repaired, 72 exchanges failed"; got != want {
		t.Errorf("done: %q, want %q", got, want)
	}
	want := []string{
		"failed with n2: 1 exchanges, partitions 7: remote storage failure",
		"failed with n3: 4 exchanges, partitions 3-5, 9: dial failed",
		"and 67 more failed exchanges (a node lists its first 64)",
	}
	if got := failureLines(done); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failure lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
