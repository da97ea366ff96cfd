package storaged_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/internal/sim"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/ringsync/swim"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/store/memstore"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/pki"
)

// The tests of this package run real storage nodes in the test process, in
// virtual time: each test runs inside a testing/synctest bubble, where the
// nodes and the test's client speak QUIC over a simulated network
// (internal/sim) with no latency, store in real bbolt files in temporary
// directories, and hold certificates from a per-test CA issued for the
// bubble's clock. Every timer (the nodes' delivery passes and backoff, QUIC's
// timeouts, the tests' own sleeps) runs on the virtual clock, which moves
// only when every goroutine of the bubble is blocked, and nothing else takes
// virtual time: the figures these tests measure are exact, and follow from
// hintInterval, handshakeTimeout and the hint package's policy.

// testTimeout bounds every wait of these tests: a deadline that turns a hang
// into a failure, never a performance assertion. In a bubble it costs
// nothing (and a bubble whose goroutines deadlock fails by itself).
const testTimeout = 30 * time.Second

const testClusterID = "storaged-test"

// hintInterval is every node's HintInterval: a node's delivery passes come
// hintInterval, 2*hintInterval, ... after it started (see testCluster.pass).
const hintInterval = 50 * time.Millisecond

// handshakeTimeout is wire.EndpointConfig's default HandshakeTimeout, which
// storage nodes use: a delivery pass that dials an owner that is down (its
// packets are lost) fails this long after it began.
const handshakeTimeout = 3 * time.Second

// testCluster is a set of members, some of them running, on a simulated
// network.
type testCluster struct {
	t       *testing.T
	ca      *pki.CA
	net     *sim.Network
	members []ring.Node
	tweak   func(*storaged.Config)
	dir     string
	t0      time.Time // when the cluster was made: the origin of reported instants
	running map[string]*runningNode
	started map[string]time.Time // when each member last started
	client  *wire.Endpoint
	// noWaitTrees makes start return at once, with the node's trees
	// still rebuilding (by default it waits for them).
	noWaitTrees bool
}

type runningNode struct {
	srv  *storaged.Server
	stop context.CancelFunc
	done chan error
}

// newTestCluster makes a cluster of n members, n1..nn, none running. tweak,
// if not nil, adjusts every node's configuration. It must be called inside
// a synctest bubble (synctest.Test), which then owns the cluster: every node
// still running is stopped, and the client closed, when the test ends,
// inside the bubble.
func newTestCluster(t *testing.T, n int, tweak func(*storaged.Config)) *testCluster {
	t.Helper()
	if !inBubble() {
		t.Fatal("newTestCluster outside a synctest bubble: real time would run the simulated network")
	}
	// Issued in the bubble: TLS checks validity against the virtual clock,
	// which starts at 2000-01-01.
	ca, err := pki.NewCA("storaged test ca", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := &testCluster{
		t: t, ca: ca, tweak: tweak, dir: t.TempDir(), t0: time.Now(),
		net:     sim.NewNetwork(rand.New(rand.NewPCG(1, 2)), sim.Link{}),
		running: make(map[string]*runningNode), started: make(map[string]time.Time),
	}
	// Fixed addresses on the simulated network: member i (0-based) at
	// 127.0.0.(i+1):7070, the client at 127.0.1.1:7070.
	for i := range n {
		c.members = append(c.members, ring.Node{ID: ring.NodeID(fmt.Sprintf("n%d", i+1)), Addr: sim.NodeAddr(i)})
	}
	c.client = c.newClient()
	t.Cleanup(c.stopAll)
	return c
}

// inBubble reports whether the caller runs in a synctest bubble, where
// synctest.Wait does not panic.
func inBubble() (in bool) {
	defer func() { in = recover() == nil }()
	synctest.Wait()
	return true
}

// newClient makes the test's client endpoint.
func (c *testCluster) newClient() *wire.Endpoint {
	c.t.Helper()
	ep, err := wire.NewEndpoint(wire.EndpointConfig{
		PacketConn: c.net.Listen(sim.ClientAddr(0)), TLS: c.material(pki.RoleClient, "tester"),
		ClusterID: testClusterID, Logger: testLogger(),
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return ep
}

// stopAll stops every running node, in id order, and closes the client for
// good. Idempotent.
func (c *testCluster) stopAll() {
	ids := make([]string, 0, len(c.running))
	for id := range c.running {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c.stop(id)
	}
	if c.client != nil {
		c.client.Close()
		c.client = nil
	}
}

// testLogger discards logs unless SHOAL_TEST_LOG is set: a logger writing to
// t after the test ends would panic.
func testLogger() *slog.Logger {
	if os.Getenv("SHOAL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// material issues a certificate from the cluster's CA.
func (c *testCluster) material(role pki.Role, id string) pki.Material {
	c.t.Helper()
	leaf, err := c.ca.Issue(role, id, nil, time.Now()) // the virtual now
	if err != nil {
		c.t.Fatal(err)
	}
	cert, err := leaf.TLS()
	if err != nil {
		c.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.ca.Cert)
	return pki.Material{CA: pool, Cert: cert}
}

// addr returns a member's address.
func (c *testCluster) addr(id string) string {
	for _, m := range c.members {
		if string(m.ID) == id {
			return m.Addr
		}
	}
	c.t.Fatalf("no member %q", id)
	return ""
}

// start runs member id on its data directory (kept across restarts).
func (c *testCluster) start(id string) *storaged.Server {
	c.t.Helper()
	if _, ok := c.running[id]; ok {
		c.t.Fatalf("%s is running already", id)
	}
	cfg := storaged.Config{
		ID:             ring.NodeID(id),
		DataDir:        filepath.Join(c.dir, id),
		PacketConn:     c.net.Listen(c.addr(id)),
		ClusterID:      testClusterID,
		InitialCluster: c.members,
		TLS:            c.material(pki.RoleNode, id),
		HintInterval:   hintInterval,
		Logger:         testLogger().With("test", c.t.Name()),
		// The failure detector and gossip are off unless a test turns them
		// on (swim_test.go, gossip_test.go): the other tests reckon
		// delivery instants from the backoff alone, and a gossip round's
		// dial to a node that is down shares the connection delivery uses.
		Swim:           swim.Config{ProbeInterval: -1},
		GossipInterval: -1,
	}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	srv, err := storaged.New(cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningNode{srv: srv, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Run(ctx) }()
	c.running[id] = r
	// Run starts the delivery ticker at this instant: virtual time cannot
	// move on before its goroutine has run and blocked.
	c.started[id] = time.Now()
	if !c.noWaitTrees {
		// The rebuild of the trees runs in (virtual) time; tests of
		// anything else start from ready trees.
		synctest.Wait() // a rebuild with nothing to throttle takes no time
		for srv.TreesNotReady() > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return srv
}

// stop stops member id gracefully and waits for it.
func (c *testCluster) stop(id string) {
	c.t.Helper()
	r, ok := c.running[id]
	if !ok {
		c.t.Fatalf("%s is not running", id)
	}
	delete(c.running, id)
	r.stop()
	select {
	case err := <-r.done:
		if err != nil {
			c.t.Errorf("%s: Run: %v", id, err)
		}
	case <-time.After(testTimeout):
		c.t.Fatalf("%s did not stop within %v", id, testTimeout)
	}
	// Let the client take in the node's goodbye (its connection close)
	// before the test goes on: otherwise a call right after a restart can
	// race the close on the cached connection and fail, a real race that
	// these tests are not about (CI once hit it in
	// TestHintedReplicateIsDurable).
	synctest.Wait()
}

// call sends req to member id as the test client.
func (c *testCluster) call(id string, req, resp any) error {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	return c.client.Call(ctx, c.addr(id), id, req, resp)
}

// must is call, failing the test on error.
func (c *testCluster) must(id string, req, resp any) {
	c.t.Helper()
	if err := c.call(id, req, resp); err != nil {
		c.t.Fatalf("%s: %T: %v", id, req, err)
	}
}

func (c *testCluster) status(id string) wire.StatusOK {
	c.t.Helper()
	var st wire.StatusOK
	c.must(id, &wire.StatusReq{}, &st)
	return st
}

func (c *testCluster) get(id, key string) wire.GetOK {
	c.t.Helper()
	var g wire.GetOK
	c.must(id, &wire.Get{Key: []byte(key)}, &g)
	return g
}

// coordinate writes value under ctx through member id, hinted for owner
// unless owner is empty, and returns the resulting object.
func (c *testCluster) coordinate(id, owner, key, value string, ctx dvv.VV) dvv.Set {
	c.t.Helper()
	var obj wire.Object
	c.must(id, &wire.Coordinate{Key: []byte(key), Value: []byte(value), Context: ctx, HintFor: ring.NodeID(owner)}, &obj)
	return obj.Object
}

// pass returns the instant of member id's k-th delivery pass since it last
// started: k*hintInterval after it. (A worker that backs off an owner
// sweeps on its own schedule; tests reckon that from hint.Backoff.)
func (c *testCluster) pass(id string, k int) time.Time {
	c.t.Helper()
	s, ok := c.started[id]
	if !ok {
		c.t.Fatalf("%s never started", id)
	}
	return s.Add(time.Duration(k) * hintInterval)
}

// nextPass returns the instant of member id's first delivery pass strictly
// after instant after. A pass at after itself must have run before what the
// caller did then: the test reached after through waitUntil or holdsFrom,
// which let it run.
func (c *testCluster) nextPass(id string, after time.Time) time.Time {
	c.t.Helper()
	since := after.Sub(c.pass(id, 0))
	if since < 0 {
		c.t.Fatalf("%s is before %s started", c.at(after), id)
	}
	return c.pass(id, int(since/hintInterval)+1)
}

// at renders an instant as the virtual time since the cluster was made.
func (c *testCluster) at(when time.Time) string { return "t0+" + when.Sub(c.t0).String() }

// waitUntil sleeps until the virtual instant when and lets every goroutine
// of the bubble run until it blocks.
func waitUntil(when time.Time) {
	time.Sleep(time.Until(when))
	synctest.Wait()
}

// deliverySlack is how much virtual time after its pass a delivery of
// several windows of hints may take: the store's group commit waits for
// company (store.Options.GroupWait) in virtual time too.
const deliverySlack = 10 * time.Millisecond

// holdsSoonAfter checks that cond does not hold 1ns before the virtual
// instant when and holds within slack after it; what() describes the state
// for a failure.
func (c *testCluster) holdsSoonAfter(when time.Time, slack time.Duration, what func() string, cond func() bool) {
	c.t.Helper()
	waitUntil(when.Add(-time.Nanosecond))
	if cond() {
		c.t.Fatalf("already at %s, before %s: %s", c.at(time.Now()), c.at(when), what())
	}
	waitUntil(when.Add(slack))
	if !cond() {
		c.t.Fatalf("not at %s, %v after %s: %s", c.at(time.Now()), slack, c.at(when), what())
	}
}

// holdsFrom checks that cond holds from the virtual instant when on, and
// not an instant before: it waits until 1ns before when and checks that cond
// does not hold, then until when and checks that it does; what() describes
// the state for a failure. when must be in the future, and cond must take
// no virtual time (a request over the simulated network takes none).
func (c *testCluster) holdsFrom(when time.Time, what func() string, cond func() bool) {
	c.t.Helper()
	before := when.Add(-time.Nanosecond)
	if !before.After(time.Now()) {
		c.t.Fatalf("holdsFrom %s, not in the future (now %s)", c.at(when), c.at(time.Now()))
	}
	check := func(want bool) {
		c.t.Helper()
		now := time.Now()
		got := cond()
		if took := time.Since(now); took != 0 {
			c.t.Fatalf("checking at %s took %v of virtual time", c.at(now), took)
		}
		if got != want {
			if want {
				c.t.Fatalf("not at %s: %s", c.at(now), what())
			}
			c.t.Fatalf("already at %s, before %s: %s", c.at(now), c.at(when), what())
		}
	}
	waitUntil(before)
	check(false)
	waitUntil(when)
	check(true)
}

// object makes a one-sibling object written by actor (node, epoch) at
// counter 1.
func object(node string, epoch uint64, value string) dvv.Set {
	s, _ := dvv.Set{}.Update(dvv.Actor{Node: node, Epoch: epoch}, nil, []byte(value), false)
	return s
}

// values returns an object's live values as strings, in sibling order.
func values(s dvv.Set) []string {
	var out []string
	for _, v := range s.Values() {
		out = append(out, string(v))
	}
	return out
}

// memOptions returns o laid out by the partitions of cfg's ring, as a
// Config.Store must be.
func memOptions(cfg *storaged.Config, o memstore.Options) memstore.Options {
	parts := cfg.Partitions
	if parts == 0 {
		parts = ring.DefaultPartitions
	}
	r, err := ring.New(parts, cfg.InitialCluster)
	if err != nil {
		panic(err) // the test cluster's members make a valid ring
	}
	o.Partition, o.Partitions = r.PartitionOf, r.Partitions()
	return o
}
