package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/store/memstore"
	"github.com/shoalkv/shoal/wire/clock"
	"github.com/shoalkv/shoal/wire/pki"
)

// port is every simulated process's UDP port; hosts differ by address.
const port = 7070

// NodeAddr is node i's address (0-based): 127.0.0.(i+1).
func NodeAddr(i int) string { return fmt.Sprintf("127.0.0.%d:%d", i+1, port) }

// ClientAddr is client i's address: 127.0.1.(i+1).
func ClientAddr(i int) string { return fmt.Sprintf("127.0.1.%d:%d", i+1, port) }

// Options configures a simulated cluster.
type Options struct {
	Nodes int // storage nodes (default 5)
	// Partitions is the ring's partition count (default 64: enough to
	// spread keys, cheap to build).
	Partitions int
	// SyncLatency is how long a node's fsync takes (default 2ms).
	SyncLatency time.Duration
	// Logger receives every process's logs (default: discarded).
	Logger *slog.Logger
	// Storaged adjusts each node's configuration before it starts.
	Storaged func(*storaged.Config)
}

func (o *Options) setDefaults() {
	if o.Nodes == 0 {
		o.Nodes = 5
	}
	if o.Partitions == 0 {
		o.Partitions = 64
	}
	if o.SyncLatency == 0 {
		o.SyncLatency = 2 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Cluster is N storage nodes and the clients that use them, in one
// process, on a simulated Network. Create it inside a testing/synctest
// bubble so that time is virtual; Close ends every goroutine it started.
type Cluster struct {
	Net     *Network
	Nodes   []*Node
	opts    Options
	members []ring.Node
	auth    *issued
	rng     *rand.Rand // for crash losses and process randomness; guarded by mu
	mu      sync.Mutex
	clients []*driver.Client
}

// Node is one simulated storage process and the disk that outlives it.
type Node struct {
	ID    ring.NodeID
	Addr  string
	Clock *clock.Skewed
	c     *Cluster
	disk  *memstore.Disk
	tls   pki.Material

	mu   sync.Mutex
	srv  *storaged.Server
	stop context.CancelFunc
	done chan error
}

// NewCluster starts opts.Nodes nodes on net, drawing every random choice
// of theirs from rng.
func NewCluster(net *Network, rng *rand.Rand, opts Options) (*Cluster, error) {
	opts.setDefaults()
	auth, err := sharedAuthority()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Net: net, opts: opts, auth: auth, rng: rng}
	for i := range opts.Nodes {
		c.members = append(c.members, ring.Node{ID: ring.NodeID(fmt.Sprintf("n%d", i+1)), Addr: NodeAddr(i)})
	}
	for _, m := range c.members {
		mat, err := auth.node(string(m.ID))
		if err != nil {
			return nil, err
		}
		n := &Node{ID: m.ID, Addr: m.Addr, Clock: &clock.Skewed{}, c: c, disk: memstore.NewDisk(), tls: mat}
		c.Nodes = append(c.Nodes, n)
		if err := n.Start(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Seeds are the nodes' addresses.
func (c *Cluster) Seeds() []string {
	out := make([]string, len(c.members))
	for i, m := range c.members {
		out[i] = m.Addr
	}
	return out
}

// reader is an io.Reader of the cluster's seeded randomness.
type reader struct{ c *Cluster }

func (r reader) Read(p []byte) (int, error) {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	for i := range p {
		p[i] = byte(r.c.rng.Uint32())
	}
	return len(p), nil
}

// source returns a new seeded rand.Source drawn from the cluster's.
func (c *Cluster) source() rand.Source {
	c.mu.Lock()
	defer c.mu.Unlock()
	return rand.NewPCG(c.rng.Uint64(), c.rng.Uint64())
}

// Client opens driver client i at ClientAddr(i), with a clock of its own.
// Cluster.Close closes it.
func (c *Cluster) Client(ctx context.Context, i int, adjust func(*driver.Config)) (*driver.Client, error) {
	mat, err := c.auth.client(fmt.Sprintf("app%d", i))
	if err != nil {
		return nil, err
	}
	cfg := driver.Config{
		Seeds:      c.Seeds(),
		TLS:        mat,
		PacketConn: c.Net.Listen(ClientAddr(i)),
		Clock:      &clock.Skewed{},
		Rand:       c.source(),
		Logger:     c.opts.Logger.With("client", i),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	cl, err := driver.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.clients = append(c.clients, cl)
	c.mu.Unlock()
	return cl, nil
}

// Close closes the clients, then stops every running node gracefully.
func (c *Cluster) Close() error {
	c.mu.Lock()
	clients := slices.Clone(c.clients)
	c.clients = nil
	c.mu.Unlock()
	var errs []error
	for _, cl := range clients {
		errs = append(errs, cl.Close())
	}
	for _, n := range c.Nodes {
		errs = append(errs, n.Stop())
	}
	return errors.Join(errs...)
}

// Running reports whether the node's process is up.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv != nil
}

// Start starts the node's process on its disk (a no-op if it runs).
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return nil
	}
	r, err := ring.New(n.c.opts.Partitions, n.c.members) // the layout storaged's ring gives keys
	if err != nil {
		return fmt.Errorf("sim: node %s: ring: %w", n.ID, err)
	}
	st, err := n.disk.Open(memstore.Options{SyncLatency: n.c.opts.SyncLatency, Rand: reader{n.c}, Logger: n.c.opts.Logger, Partition: r.PartitionOf, Partitions: r.Partitions()})
	if err != nil {
		return fmt.Errorf("sim: node %s: open disk: %w", n.ID, err)
	}
	cfg := storaged.Config{
		ID:             n.ID,
		Store:          st,
		PacketConn:     n.c.Net.Listen(n.Addr),
		InitialCluster: n.c.members,
		Partitions:     n.c.opts.Partitions,
		TLS:            n.tls,
		Clock:          n.Clock,
		Rand:           reader{n.c},
		Logger:         n.c.opts.Logger.With("node", n.ID),
	}
	if n.c.opts.Storaged != nil {
		n.c.opts.Storaged(&cfg)
	}
	srv, err := storaged.New(cfg)
	if err != nil {
		return fmt.Errorf("sim: node %s: %w", n.ID, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	n.srv, n.stop, n.done = srv, stop, done
	return nil
}

// Stop shuts the node down gracefully (SIGTERM), if it runs.
func (n *Node) Stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.endLocked()
}

// Crash kills the node's process (kill -9, or a power cut): it vanishes
// from the network at once, its store loses what was not synced as the
// cluster's seed decides, and its goroutines are then wound down. Start
// restarts it on what survived.
func (n *Node) Crash() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return nil
	}
	n.c.Net.Detach(n.Addr)
	n.c.mu.Lock()
	n.disk.Crash(n.c.rng)
	n.c.mu.Unlock()
	_ = n.endLocked() // a crashed process's shutdown errors mean nothing
	return nil
}

func (n *Node) endLocked() error {
	if n.srv == nil {
		return nil
	}
	n.stop()
	err := <-n.done
	n.srv, n.stop, n.done = nil, nil, nil
	return err
}
