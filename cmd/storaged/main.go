// Command storaged runs one Shoal storage node.
//
//	storaged --id n1 --listen 127.0.0.1:7070 --data-dir /var/lib/shoal/n1 \
//	  --initial-cluster n1=127.0.0.1:7070,n2=127.0.0.2:7070,n3=127.0.0.3:7070 \
//	  --certs-dir /etc/shoal/certs
//
// It serves until SIGINT or SIGTERM, then shuts down gracefully.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire/pki"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "storaged:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := pflag.NewFlagSet("storaged", pflag.ContinueOnError)
	fs.SortFlags = false
	var (
		id        = fs.String("id", "", "this node's id; must match its certificate and an --initial-cluster entry (required)")
		listen    = fs.String("listen", "", "UDP address to serve QUIC on (default: this node's address in --initial-cluster)")
		dataDir   = fs.String("data-dir", "", "directory for the bbolt data file and its lock (required)")
		initial   = fs.String("initial-cluster", "", "every member as id=host:port, comma-separated; the same on every node (required)")
		clusterID = fs.String("cluster-id", storaged.DefaultClusterID, "cluster id; nodes and clients of other clusters are refused")
		join      = fs.StringSlice("join", nil, "seeds: host:port of running nodes, comma-separated, used only to find a first peer to gossip the cluster state with; with an empty data directory the node takes the seeds' cluster state whole instead of making one from --initial-cluster")
		gossipInt = fs.Duration("gossip-interval", 0, "pause between gossip rounds, each exchanging cluster state digests (and the states on a mismatch) with a random member (0: the default, 1s; negative: off)")
		parts     = fs.Int("partitions", ring.DefaultPartitions, "fixed partition count Q of the ring (a power of two; the same on every node)")
		certsDir  = fs.String("certs-dir", "", "directory made by 'shoal certs': uses ca.crt, node-<id>.crt and node-<id>.key")
		caFile    = fs.String("ca", "", "cluster CA certificate (PEM); overrides --certs-dir")
		certFile  = fs.String("cert", "", "node certificate (PEM); overrides --certs-dir")
		keyFile   = fs.String("key", "", "node private key (PEM); overrides --certs-dir")
		noSync    = fs.Bool("no-sync", false, "acknowledge writes before fsync: faster, but a power loss can lose acknowledged writes")
		maxKey    = fs.Int("max-key", 0, "largest key in bytes (default 1024, at most 32766)")
		maxValue  = fs.Int("max-value", 0, "largest value in bytes (default 1048576)")
		hintBytes = fs.Int64("hint-max-bytes", storaged.DefaultHintMaxBytes, "most bytes of hints kept for any one unreachable node; hinted writes past it are refused")
		hintKeys  = fs.Int64("hint-max-keys", storaged.DefaultHintMaxKeys, "most keys hinted for any one unreachable node; hinted writes of new keys past it are refused")
		hintKeep  = fs.Int64("hint-retain-bytes", storaged.DefaultHintRetainBytes, "most bytes of delivered hint records kept for the actor of the writes this node coordinated in them (so a key's clock does not grow with each outage); the oldest past it are deleted; negative: keep none")
		hintWin   = fs.Duration("hint-window", storaged.DefaultHintWindow, "once a node's oldest undelivered hint is this old, hints for new keys of that node are refused (anti-entropy repairs longer outages)")
		hintRate  = fs.Int64("hint-rate", storaged.DefaultHintRate, "hint delivery throttle in bytes per second, across all owners")
		hintEvery = fs.Duration("hint-interval", storaged.DefaultHintInterval, "pause between hint delivery passes")
		aeEvery   = fs.Duration("anti-entropy-interval", 0, "length of an anti-entropy cycle, which compares every partition with its other replicas (skipping the pairs that cannot differ: a difference is found within one or two cycles) and repairs what differs (0: the default, 30s; negative: off)")
		trees     = fs.Bool("trees", true, "keep per-partition hash trees, which anti-entropy compares; --trees=false runs without them: no tree upkeep on writes, no rebuild at start, no anti-entropy (exchanges with this node fail), replicas converge only by hints and read repair (for measuring what the trees cost)")
		aeRate    = fs.Int64("anti-entropy-rate", 0, "anti-entropy throttle in bytes per second of hashes and objects moved (0: the default, 8 MiB/s)")
		rebuild   = fs.Int64("tree-rebuild-rate", 0, "throttle of the hash tree rebuild each start runs while the node serves, in keys per second (0: the default, 200,000; negative: unthrottled); a partition's exchanges wait for its tree")
		memTotal  = fs.Int64("memory-total", 0, "most bytes held for all peers at once: frames being received, requests, unwritten answers (default 192 MiB); a peer over its share is slowed, then cut off")
		memConn   = fs.Int64("memory-per-conn", 0, "one connection's share of --memory-total (default 32 MiB)")
		maxConns  = fs.Int("max-conns", 0, "most connections accepted in total (default 4096)")
		perSource = fs.Int("max-conns-per-source", 0, "most connections from one IP address (default 64)")
		hsRate    = fs.Float64("handshake-rate", 0, "new connections one IP address may start per second (default 50, bursts of 100)")
		helloTO   = fs.Duration("hello-timeout", 0, "how long a new connection has to send its hello (default 5s)")
		frameTO   = fs.Duration("frame-timeout", 0, "how long a request may take to arrive once begun, plus its size at 64 KiB/s (default 10s)")
		goMem     = fs.Int64("go-memory-limit", defaultGoMemoryLimit, "soft limit on the Go runtime's memory, so garbage is collected before it piles up (0: the runtime's default; GOMEMLIMIT, when set, wins)")
		logLevel  = fs.String("log-level", "info", "debug, info, warn or error")
		debugAddr = fs.String("debug-addr", "", "serve Go's pprof profiles over HTTP on this address (e.g. 127.0.0.1:6060); off by default")
	)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "storaged runs one Shoal storage node.\n\nUsage: storaged [flags]\n\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	members, err := parseCluster(*initial)
	if err != nil {
		return fmt.Errorf("--initial-cluster: %w", err)
	}
	ca, cert, key := *caFile, *certFile, *keyFile
	if *certsDir != "" {
		c, k := pki.LeafFiles(*certsDir, pki.RoleNode, *id)
		ca = or(ca, *certsDir+"/"+pki.CACertFile)
		cert, key = or(cert, c), or(key, k)
	}
	if ca == "" || cert == "" || key == "" {
		return errors.New("tls: give --certs-dir, or --ca, --cert and --key")
	}
	mat, err := pki.Load(ca, cert, key)
	if err != nil {
		return err
	}
	cfg := storaged.Config{
		ID: ring.NodeID(*id), Listen: *listen, DataDir: *dataDir, ClusterID: *clusterID,
		InitialCluster: members, Partitions: *parts, TLS: mat, NoSync: *noSync, Logger: log,
	}
	cfg.Limits.MaxKey, cfg.Limits.MaxValue = *maxKey, *maxValue
	cfg.HintMaxBytes, cfg.HintMaxKeys, cfg.HintWindow, cfg.HintRetainBytes = *hintBytes, *hintKeys, *hintWin, *hintKeep
	cfg.HintRate, cfg.HintInterval = *hintRate, *hintEvery
	cfg.AntiEntropyInterval, cfg.AntiEntropyRate, cfg.NoTrees = *aeEvery, *aeRate, !*trees
	cfg.TreeRebuildRate = *rebuild
	cfg.Join, cfg.GossipInterval = *join, *gossipInt
	cfg.Peers.MemoryTotal, cfg.Peers.MemoryPerConn = *memTotal, *memConn
	cfg.Peers.MaxConns, cfg.Peers.MaxConnsPerSource, cfg.Peers.HandshakeRate = *maxConns, *perSource, *hsRate
	cfg.Peers.HelloTimeout, cfg.Peers.FrameTimeout = *helloTO, *frameTO
	if *goMem > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(*goMem)
	}
	srv, err := storaged.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *debugAddr != "" {
		dbg, err := serveDebug(*debugAddr, log)
		if err != nil {
			srv.Close()
			return err
		}
		defer dbg.Close()
	}
	return srv.Run(ctx)
}

// defaultGoMemoryLimit is the Go runtime's soft memory limit: above the
// peers' memory budget (192 MiB by default) and the node's own working set,
// and under the 256 MiB a node at the default limits stays within, so a
// burst of peer traffic is collected rather than left for the GC's
// doubling.
const defaultGoMemoryLimit = 224 << 20

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
