package storaged_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/pki"
)

// The tests of this package run real storage nodes in the test process:
// real QUIC on 127.0.0.1, real bbolt in temporary directories, certificates
// from a per-test CA.

// testTimeout bounds every wait of these tests: a deadline that turns a hang
// into a failure, never a performance assertion.
const testTimeout = 30 * time.Second

const testClusterID = "storaged-test"

// testCluster is a set of members, some of them running.
type testCluster struct {
	t       *testing.T
	ca      *pki.CA
	members []ring.Node
	tweak   func(*storaged.Config)
	dir     string
	running map[string]*runningNode
	client  *wire.Endpoint
}

type runningNode struct {
	srv  *storaged.Server
	stop context.CancelFunc
	done chan error
}

// newTestCluster makes a cluster of n members, n1..nn, none running. tweak,
// if not nil, adjusts every node's configuration. Every node still running
// is stopped when the test ends.
func newTestCluster(t *testing.T, n int, tweak func(*storaged.Config)) *testCluster {
	t.Helper()
	ca, err := pki.NewCA("storaged test ca", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := &testCluster{t: t, ca: ca, tweak: tweak, dir: t.TempDir(), running: make(map[string]*runningNode)}
	for i := range n {
		c.members = append(c.members, ring.Node{ID: ring.NodeID(fmt.Sprintf("n%d", i+1)), Addr: freeAddr(t)})
	}
	c.client = c.newClient()
	t.Cleanup(c.stopAll)
	return c
}

// newClient makes the test's client endpoint.
func (c *testCluster) newClient() *wire.Endpoint {
	c.t.Helper()
	ep, err := wire.NewEndpoint(wire.EndpointConfig{
		Addr: "127.0.0.1:0", TLS: c.material(pki.RoleClient, "tester"), ClusterID: testClusterID, Logger: testLogger(),
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

// freeAddr returns 127.0.0.1:port with a UDP port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	return u.LocalAddr().String()
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
	leaf, err := c.ca.Issue(role, id, []string{"127.0.0.1"}, time.Now())
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
		ID:             id,
		DataDir:        filepath.Join(c.dir, id),
		ClusterID:      testClusterID,
		InitialCluster: c.members,
		TLS:            c.material(pki.RoleNode, id),
		HintInterval:   50 * time.Millisecond,
		Logger:         testLogger().With("test", c.t.Name()),
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
	c.must(id, &wire.Coordinate{Key: []byte(key), Value: []byte(value), Context: ctx, HintFor: owner}, &obj)
	return obj.Object
}

// eventually polls cond until it holds, failing the test with what() if it
// does not within testTimeout.
func eventually(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", testTimeout, what())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
