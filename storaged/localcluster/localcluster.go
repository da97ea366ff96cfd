// Package localcluster runs a small Shoal cluster inside one process for
// development, examples and the embedded benchmark target: every node is a
// real storaged.Server with its own 127.0.0.x address, its own bbolt
// directory and throwaway certificates, talking real QUIC over loopback.
//
// The layout of a cluster directory is stable, so client tools can find a
// running dev cluster with no flags:
//
//	DIR/cluster.json          cluster id, node ids and addresses
//	DIR/certs/                ca.crt, node-<id>.{crt,key}, client-<name>.{crt,key}
//	DIR/<id>/                 each node's data directory
package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire/pki"
)

// ClientName is the client certificate a cluster directory always holds.
const ClientName = "local"

// Options configure Start. Zero fields mean the defaults.
type Options struct {
	// Dir holds certificates, the cluster file and data; required.
	Dir string
	// Nodes is the node count for a new cluster (default 3). An existing
	// directory keeps the members it was created with.
	Nodes int
	// Port is every node's UDP port; node i listens on 127.0.0.(i+1):Port
	// (default 7070).
	Port int
	// ClusterID for a new cluster (default "dev").
	ClusterID string
	// NoSync turns off fsync (see storaged.Config.NoSync).
	NoSync bool
	// NoTrees runs every node without hash trees, and so without
	// anti-entropy (see storaged.Config.NoTrees).
	NoTrees bool
	// AntiEntropyInterval is every node's anti-entropy cycle length (see
	// storaged.Config.AntiEntropyInterval: 0 the default, negative off).
	AntiEntropyInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// File is the cluster description stored in DIR/cluster.json.
type File struct {
	ClusterID string      `json:"cluster_id"`
	Nodes     []ring.Node `json:"nodes"`
}

// Seeds lists the node addresses.
func (f File) Seeds() []string {
	s := make([]string, len(f.Nodes))
	for i, n := range f.Nodes {
		s[i] = n.Addr
	}
	return s
}

// Cluster is a running local cluster.
type Cluster struct {
	Dir  string
	File File

	servers []*storaged.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errs    []error
	mu      sync.Mutex
}

// Start creates the directory on first use (members, certificates) and starts
// every node. Close stops them.
func Start(opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("localcluster: directory is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	f, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: opts.Dir, File: f}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	certs := filepath.Join(opts.Dir, "certs")
	for _, n := range f.Nodes {
		cert, key := pki.LeafFiles(certs, pki.RoleNode, string(n.ID))
		mat, err := pki.Load(filepath.Join(certs, pki.CACertFile), cert, key)
		if err != nil {
			c.Close()
			return nil, err
		}
		srv, err := storaged.New(storaged.Config{
			ID: n.ID, DataDir: filepath.Join(opts.Dir, string(n.ID)), ClusterID: f.ClusterID,
			InitialCluster: f.Nodes, TLS: mat, NoSync: opts.NoSync, Logger: opts.Logger,
			NoTrees: opts.NoTrees, AntiEntropyInterval: opts.AntiEntropyInterval,
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("localcluster: node %s: %w", n.ID, err)
		}
		c.servers = append(c.servers, srv)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := srv.Run(ctx); err != nil {
				c.mu.Lock()
				c.errs = append(c.errs, fmt.Errorf("node %s: %w", n.ID, err))
				c.mu.Unlock()
			}
		}()
	}
	return c, nil
}

// Close stops every node gracefully and waits for them.
func (c *Cluster) Close() error {
	c.cancel()
	for _, s := range c.servers {
		s.Close()
	}
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.errs...)
}

// Client returns the TLS material of the cluster's client certificate.
func (c *Cluster) Client() (pki.Material, error) { return ClientMaterial(c.Dir) }

// ClientMaterial loads the client certificate of a cluster directory.
func ClientMaterial(dir string) (pki.Material, error) {
	certs := filepath.Join(dir, "certs")
	cert, key := pki.LeafFiles(certs, pki.RoleClient, ClientName)
	return pki.Load(filepath.Join(certs, pki.CACertFile), cert, key)
}

// Load reads DIR/cluster.json.
func Load(dir string) (File, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if err != nil {
		return File{}, fmt.Errorf("localcluster: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return File{}, fmt.Errorf("localcluster: %s/cluster.json: %w", dir, err)
	}
	if f.ClusterID == "" || len(f.Nodes) == 0 {
		return File{}, fmt.Errorf("localcluster: %s/cluster.json has no cluster id or nodes", dir)
	}
	return f, nil
}

// prepare returns the cluster file, creating the directory, members and
// certificates when the directory is new.
func prepare(opts Options) (File, error) {
	if f, err := Load(opts.Dir); err == nil {
		return f, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return File{}, err
	}
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Port == 0 {
		opts.Port = 7070
	}
	if opts.ClusterID == "" {
		opts.ClusterID = "dev"
	}
	if opts.Nodes < 1 || opts.Nodes > 250 {
		return File{}, fmt.Errorf("localcluster: %d nodes, want 1..250", opts.Nodes)
	}
	f := File{ClusterID: opts.ClusterID}
	for i := range opts.Nodes {
		f.Nodes = append(f.Nodes, ring.Node{
			ID:   ring.NodeID(fmt.Sprintf("n%d", i+1)),
			Addr: fmt.Sprintf("127.0.0.%d:%d", i+1, opts.Port),
		})
	}
	certs := filepath.Join(opts.Dir, "certs")
	ca, err := pki.NewCA("shoal local cluster "+opts.ClusterID, time.Now())
	if err != nil {
		return File{}, err
	}
	if err := ca.Write(certs); err != nil {
		return File{}, fmt.Errorf("localcluster: %w", err)
	}
	for _, n := range f.Nodes {
		host, _, _ := net.SplitHostPort(n.Addr)
		if err := ca.WriteLeaf(certs, pki.RoleNode, string(n.ID), []string{host}, time.Now()); err != nil {
			return File{}, err
		}
	}
	if err := ca.WriteLeaf(certs, pki.RoleClient, ClientName, nil, time.Now()); err != nil {
		return File{}, err
	}
	b, _ := json.MarshalIndent(f, "", "  ")
	if err := os.WriteFile(filepath.Join(opts.Dir, "cluster.json"), append(b, '\n'), 0o644); err != nil {
		return File{}, fmt.Errorf("localcluster: %w", err)
	}
	return f, nil
}
