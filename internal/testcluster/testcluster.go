// Package testcluster starts real storaged processes on loopback for system
// tests: each node is its own OS process, bound to its own 127.0.x.y address,
// with its own bbolt directory and certificates from a per-test CA. Tests can
// kill (SIGKILL), stop (SIGSTOP), continue and restart nodes by PID.
//
// Only tests may import it.
package testcluster

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire/pki"
)

// Options configure Start; zero fields mean the defaults.
type Options struct {
	Nodes     int      // default 3
	NoSync    bool     // pass --no-sync
	ClusterID string   // default "test"
	Args      []string // extra storaged flags for every node
}

// Cluster is a set of storaged processes.
type Cluster struct {
	t         testing.TB
	Dir       string
	CertsDir  string
	ClusterID string
	Nodes     []*Node
	opts      Options
}

// Node is one storaged process slot; it may be restarted.
type Node struct {
	ID      ring.NodeID
	Addr    string
	DataDir string
	LogPath string

	mu  sync.Mutex
	cmd *exec.Cmd
	// exited is closed when the current process has been reaped.
	exited chan struct{}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/storaged once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shoal-storaged-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "storaged")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/shoalkv/shoal/cmd/storaged").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build storaged: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Start makes certificates, picks addresses 127.0.K.1..n (K random per
// cluster, so concurrent test packages do not collide) and starts every node.
// The cluster is stopped in t.Cleanup.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.ClusterID == "" {
		opts.ClusterID = "test"
	}
	Binary(t) // build before making anything, so a build failure reports first
	dir := t.TempDir()
	c := &Cluster{t: t, Dir: dir, CertsDir: filepath.Join(dir, "certs"), ClusterID: opts.ClusterID, opts: opts}
	ca, err := pki.NewCA("test ca", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Write(c.CertsDir); err != nil {
		t.Fatal(err)
	}
	octet := 2 + rand.IntN(250)
	for i := range opts.Nodes {
		ip := fmt.Sprintf("127.0.%d.%d", octet, i+1)
		n := &Node{
			ID:      ring.NodeID(fmt.Sprintf("n%d", i+1)),
			Addr:    net.JoinHostPort(ip, fmt.Sprint(freePort(t, ip))),
			DataDir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			LogPath: filepath.Join(dir, fmt.Sprintf("n%d.log", i+1)),
		}
		if err := ca.WriteLeaf(c.CertsDir, pki.RoleNode, string(n.ID), []string{ip}, time.Now()); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, n)
	}
	if err := ca.WriteLeaf(c.CertsDir, pki.RoleClient, "tester", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stopAll)
	for i := range c.Nodes {
		c.Restart(i)
	}
	return c
}

// freePort finds a UDP port free on ip.
func freePort(t testing.TB, ip string) int {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("bind %s: %v", ip, err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).Port
}

func (c *Cluster) initialCluster() string {
	parts := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		parts[i] = string(n.ID) + "=" + n.Addr
	}
	return strings.Join(parts, ",")
}

// Restart starts node i's process (again) with its data directory and waits
// until it logs that it is ready.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if err := c.Launch(i); err != nil {
		c.t.Fatal(err)
	}
}

// Launch is Restart reporting failure as an error instead of failing the
// test, so that it may be called from any goroutine (a fault injector's, for
// one): testing.TB's Fatal may only be called from the test's own.
func (c *Cluster) Launch(i int) error {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		select {
		case <-n.exited:
		default:
			return fmt.Errorf("restart %s: still running (pid %d)", n.ID, n.cmd.Process.Pid)
		}
	}
	args := append([]string{
		"--id", string(n.ID), "--data-dir", n.DataDir, "--initial-cluster", c.initialCluster(),
		"--cluster-id", c.ClusterID, "--certs-dir", c.CertsDir, "--log-level", "info",
	}, c.opts.Args...)
	if c.opts.NoSync {
		args = append(args, "--no-sync")
	}
	cmd := exec.Command(binPath, args...) // built by Start
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logf.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, pw
	if err := cmd.Start(); err != nil {
		logf.Close()
		pr.Close()
		pw.Close()
		return fmt.Errorf("start %s: %v", n.ID, err)
	}
	pw.Close()
	ready := make(chan struct{})
	go func() { // copies the log; ends when the process's stderr closes
		defer logf.Close()
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if !signalled && strings.Contains(sc.Text(), "node ready") {
				close(ready)
				signalled = true
			}
		}
	}()
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	n.cmd, n.exited = cmd, exited
	select {
	case <-ready:
		return nil
	case <-exited:
		return fmt.Errorf("%s exited during start; log %s:\n%s", n.ID, n.LogPath, readFile(n.LogPath))
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s not ready after 30s; log:\n%s", n.ID, readFile(n.LogPath))
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// PID of node i's current process.
func (c *Cluster) PID(i int) int {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd.Process.Pid
}

// Signal sends sig to node i's process.
func (c *Cluster) Signal(i int, sig syscall.Signal) {
	c.t.Helper()
	if err := syscall.Kill(c.PID(i), sig); err != nil {
		c.t.Fatalf("signal %s: %v", c.Nodes[i].ID, err)
	}
}

// Kill sends SIGKILL to node i and waits until it is gone.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	c.Signal(i, syscall.SIGKILL)
	c.wait(i)
}

// Stop sends SIGTERM (graceful shutdown) to node i and waits for it.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.Signal(i, syscall.SIGTERM)
	c.wait(i)
}

func (c *Cluster) wait(i int) {
	c.t.Helper()
	n := c.Nodes[i]
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		c.t.Fatalf("%s did not exit within 30s", n.ID)
	}
}

func (c *Cluster) stopAll() {
	for _, n := range c.Nodes {
		n.mu.Lock()
		cmd, exited := n.cmd, n.exited
		n.mu.Unlock()
		if cmd == nil {
			continue
		}
		select {
		case <-exited:
			continue
		default:
		}
		syscall.Kill(cmd.Process.Pid, syscall.SIGCONT) // in case a test left it stopped
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
}

// Seeds lists the node addresses.
func (c *Cluster) Seeds() []string {
	s := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		s[i] = n.Addr
	}
	return s
}

// Material loads the TLS material of role/id from the cluster's CA.
func (c *Cluster) Material(role pki.Role, id string) pki.Material {
	c.t.Helper()
	cert, key := pki.LeafFiles(c.CertsDir, role, id)
	m, err := pki.Load(filepath.Join(c.CertsDir, pki.CACertFile), cert, key)
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

// Client opens a driver against the cluster with the test client
// certificate; mod may adjust the config. Closed in t.Cleanup.
func (c *Cluster) Client(mod func(*driver.Config)) *driver.Client {
	c.t.Helper()
	cfg := driver.Config{
		Seeds:     c.Seeds(),
		ClusterID: c.ClusterID,
		TLS:       c.Material(pki.RoleClient, "tester"),
		LocalAddr: "127.0.0.1:0",
		Logger:    driverLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := driver.Open(ctx, cfg)
	if err != nil {
		c.t.Fatalf("driver.Open: %v", err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// driverLogger keeps the drivers of a test quiet below warnings (a fault
// test runs many clients, each logging every node it sees come back) unless
// SHOAL_TEST_LOG is set. It writes to stderr, not t: a driver may log after
// its test ended.
func driverLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SHOAL_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Context returns a context that ends after d or when the test ends.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
