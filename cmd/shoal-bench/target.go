package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/bench/workload"
	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/localcluster"
	"github.com/shoalkv/shoal/wire/pki"
)

// target is a Shoal cluster: embedded (started here) or reached by --seeds.
type target struct {
	seeds, clusterID, ca, cert, key string
	nodes                           int
	n, r, w                         int
	durability                      string
	timeout                         time.Duration
	durabilitySet                   func() bool
	// The embedded cluster's hash trees and anti-entropy interval.
	trees      bool
	aeInterval time.Duration
	nodeSet    func() bool // whether --trees or --anti-entropy-interval was given
}

// Durability modes of the embedded cluster.
const (
	durabilityFsync = "fsync"
	durabilityNone  = "none"
)

func (t *target) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&t.seeds, "seeds", os.Getenv("SHOAL_SEEDS"), "benchmark the running cluster at these node addresses, comma-separated [$SHOAL_SEEDS] (default: start an embedded cluster)")
	fs.StringVar(&t.clusterID, "cluster-id", os.Getenv("SHOAL_CLUSTER_ID"), "cluster id, with --seeds [$SHOAL_CLUSTER_ID] (default \"shoal\")")
	fs.StringVar(&t.ca, "ca", os.Getenv("SHOAL_CA"), "cluster CA certificate, with --seeds [$SHOAL_CA]")
	fs.StringVar(&t.cert, "cert", os.Getenv("SHOAL_CERT"), "client certificate, with --seeds [$SHOAL_CERT]")
	fs.StringVar(&t.key, "key", os.Getenv("SHOAL_KEY"), "client key, with --seeds [$SHOAL_KEY]")
	fs.IntVar(&t.nodes, "nodes", 3, "nodes of the embedded cluster, on 127.0.0.1..N")
	fs.IntVar(&t.n, "n", driver.DefaultN, "replication factor N")
	fs.IntVar(&t.r, "r", driver.DefaultR, "read quorum R")
	fs.IntVar(&t.w, "w", driver.DefaultW, "write quorum W")
	fs.StringVar(&t.durability, "durability", durabilityFsync, "embedded cluster: fsync (a write is acknowledged after W replicas fsynced it) or none (acknowledged before it reaches the disk); a --seeds cluster has its own (storaged --no-sync)")
	fs.DurationVar(&t.timeout, "timeout", 5*time.Second, "per-operation timeout")
	fs.BoolVar(&t.trees, "trees", true, "embedded cluster: keep hash trees (storaged --trees); --trees=false runs the nodes without trees or anti-entropy, to measure what they cost")
	fs.DurationVar(&t.aeInterval, "anti-entropy-interval", 0, "embedded cluster: length of an anti-entropy cycle (storaged --anti-entropy-interval; 0: the default, 30s; negative: off)")
	t.durabilitySet = func() bool { return fs.Changed("durability") }
	t.nodeSet = func() bool { return fs.Changed("trees") || fs.Changed("anti-entropy-interval") }
}

func (t *target) Open(ctx context.Context, w workload.Workload) (workload.DB, string, func() error, error) {
	if t.durability != durabilityFsync && t.durability != durabilityNone {
		return nil, "", nil, fmt.Errorf("--durability %q: want fsync or none", t.durability)
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := driver.Config{N: t.n, R: t.r, W: t.w, Timeout: t.timeout, ClusterID: t.clusterID, Logger: quiet}
	if t.seeds != "" {
		return t.openRemote(ctx, cfg)
	}
	return t.openEmbedded(ctx, cfg, quiet)
}

func (t *target) openRemote(ctx context.Context, cfg driver.Config) (workload.DB, string, func() error, error) {
	if t.durabilitySet() {
		return nil, "", nil, errors.New("--durability applies to the embedded cluster; a --seeds cluster's nodes set their own (storaged --no-sync)")
	}
	if t.nodeSet() {
		return nil, "", nil, errors.New("--trees and --anti-entropy-interval apply to the embedded cluster; a --seeds cluster's nodes set their own (storaged --trees, --anti-entropy-interval)")
	}
	if t.ca == "" || t.cert == "" || t.key == "" {
		return nil, "", nil, errors.New("--seeds needs --ca, --cert and --key (a client certificate of the cluster's CA)")
	}
	mat, err := pki.Load(t.ca, t.cert, t.key)
	if err != nil {
		return nil, "", nil, err
	}
	cfg.TLS = mat
	cfg.Seeds = strings.Split(t.seeds, ",")
	c, err := driver.Open(ctx, cfg)
	if err != nil {
		return nil, "", nil, err
	}
	desc := fmt.Sprintf("cluster at %s (%d nodes in its ring; durability as its nodes are configured), N=%d R=%d W=%d, timeout %v",
		t.seeds, len(c.Ring().Nodes()), t.n, t.r, t.w, t.timeout)
	return &db{c: c}, desc, c.Close, nil
}

// openEmbedded starts a cluster inside this process with throwaway
// certificates and data, on a UDP port free on each node's address.
func (t *target) openEmbedded(ctx context.Context, cfg driver.Config, log *slog.Logger) (workload.DB, string, func() error, error) {
	if t.nodes < 1 || t.nodes > 250 {
		return nil, "", nil, fmt.Errorf("--nodes %d: want 1..250", t.nodes)
	}
	if t.n > t.nodes {
		return nil, "", nil, fmt.Errorf("--n %d is more than the %d nodes", t.n, t.nodes)
	}
	dir, err := os.MkdirTemp("", "shoal-bench-")
	if err != nil {
		return nil, "", nil, err
	}
	port, err := freePort(t.nodes)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	cl, err := localcluster.Start(localcluster.Options{Dir: dir, Nodes: t.nodes, Port: port, ClusterID: "bench",
		NoSync: t.durability == durabilityNone, NoTrees: !t.trees, AntiEntropyInterval: t.aeInterval, Logger: log})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	stop := func() error {
		err := cl.Close()
		return errors.Join(err, os.RemoveAll(dir))
	}
	mat, err := cl.Client()
	if err != nil {
		return nil, "", nil, errors.Join(err, stop())
	}
	cfg.TLS, cfg.Seeds, cfg.ClusterID = mat, cl.File.Seeds(), cl.File.ClusterID
	c, err := driver.Open(ctx, cfg)
	if err != nil {
		return nil, "", nil, errors.Join(err, stop())
	}
	desc := fmt.Sprintf("embedded %d-node cluster in this process on 127.0.0.1-%d:%d (real storaged over QUIC+mTLS), durability %s, %s, data in %s (removed afterwards); N=%d R=%d W=%d, timeout %v",
		t.nodes, t.nodes, port, t.durability, t.antiEntropy(), dir, t.n, t.r, t.w, t.timeout)
	closeAll := func() error { return errors.Join(c.Close(), stop()) }
	return &db{c: c, status: func() string { return antiEntropyReport(context.Background(), c) }}, desc, closeAll, nil
}

// antiEntropy describes the embedded cluster's trees and anti-entropy.
func (t *target) antiEntropy() string {
	switch {
	case !t.trees:
		return "no hash trees (no anti-entropy)"
	case t.aeInterval < 0:
		return "hash trees kept, anti-entropy off"
	case t.aeInterval == 0:
		return fmt.Sprintf("anti-entropy every %v (the default)", storaged.DefaultAntiEntropyInterval)
	}
	return fmt.Sprintf("anti-entropy every %v", t.aeInterval)
}

// freePort finds a UDP port that is free on 127.0.0.1 .. 127.0.0.n.
func freePort(n int) (int, error) {
	for range 50 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		held := []net.PacketConn{pc}
		ok := true
		for i := 2; i <= n; i++ {
			c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.%d:%d", i, port))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, errors.New("no UDP port is free on every node address")
}
