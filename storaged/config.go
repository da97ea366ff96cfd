package storaged

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/ringsync/swim"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/clock"
	"github.com/shoalkv/shoal/wire/pki"
)

// DefaultClusterID is the cluster id used when none is configured.
const DefaultClusterID = "shoal"

// Hinted handoff defaults (see the Hint fields of Config).
const (
	// DefaultHintMaxBytes bounds the disk one unreachable node can cost each
	// fallback: a few minutes of a busy node's writes, well under any data
	// disk.
	DefaultHintMaxBytes = 256 << 20
	// DefaultHintRetainBytes bounds the delivered hint records a node
	// retains for their actor (Config.HintRetainBytes).
	DefaultHintRetainBytes = 64 << 20
	// DefaultHintMaxKeys bounds the records (and the startup scan) one
	// unreachable node can cost each fallback.
	DefaultHintMaxKeys = 1_000_000
	// DefaultHintWindow is Cassandra's default max_hint_window: outages
	// longer than this are left to anti-entropy, which repairs them without
	// an ever-growing backlog.
	DefaultHintWindow = 3 * time.Hour
	// DefaultHintRate keeps delivery to a returning node (every fallback
	// sends at once) from swamping it or the network.
	DefaultHintRate = 8 << 20
	// DefaultHintInterval is the pause between delivery passes: short
	// enough that a returning node gets its hints within seconds.
	DefaultHintInterval = time.Second
)

// DefaultTreeVerifyInterval is how often a node checks its live hash trees
// against a scan of its store (see Config.TreeVerifyInterval): rarely, as a
// check finds only bugs and disk rot, and costs a full scan.
const DefaultTreeVerifyInterval = 6 * time.Hour

// DefaultTreeRebuildRate throttles the rebuild of the hash trees at start
// (see Config.TreeRebuildRate), in keys per second: about a third of one
// core here (an unthrottled rebuild hashes some 650,000 keys/s), so a node
// of 10 million objects has its trees within a minute while it serves.
const DefaultTreeRebuildRate = 200_000

// Anti-entropy defaults (see Config.N and the AntiEntropy fields).
const (
	// DefaultN is the replication factor, the drivers' default too.
	DefaultN = 3
	// DefaultAntiEntropyInterval is the length of an exchange cycle: a
	// cycle costs at most one round trip per partition and peer where the
	// trees agree, and skips the pairs that cannot differ (see
	// Config.AntiEntropyInterval), so a difference is found within one or
	// two intervals.
	DefaultAntiEntropyInterval = 30 * time.Second
	// DefaultAntiEntropyRate bounds the bytes an exchange moves (hashes and
	// objects) so that repair never crowds out client traffic.
	DefaultAntiEntropyRate = 8 << 20
)

// DefaultGossipInterval is the pause between a node's gossip rounds (see
// Config.GossipInterval): Dynamo's once a second (§4.8), which spreads a
// change to n nodes in about log2(n) seconds for a digest of ~30 bytes per
// round when nothing changed.
const DefaultGossipInterval = time.Second

// Config configures a Server. The zero value of each optional field means the
// documented default.
type Config struct {
	// ID names this node; it must match the id in the node certificate and
	// an entry of InitialCluster. Required.
	ID ring.NodeID
	// Listen is the UDP address to serve on, e.g. "127.0.0.2:7070";
	// defaults to this node's address in InitialCluster.
	Listen string
	// DataDir holds the bbolt file and its lock. Required unless Store is
	// set.
	DataDir string
	// Store, when set, is used instead of opening DataDir: an in-memory
	// crashable store in the simulator (storaged/store/memstore). It must
	// lay its objects out by the ring's partitions, as the store New
	// opens does (memstore.Options.Partition, Partitions), or New refuses
	// it. The server owns it and closes it on Close.
	Store store.Engine
	// PacketConn, when set, is used instead of binding Listen: a simulated
	// network's connection (internal/sim). The server owns it.
	PacketConn net.PacketConn
	// Clock is the node's time source for hint timestamps and windows,
	// delivery pacing and uptime (default the machine's clock).
	Clock clock.Clock
	// Rand is where the node's random identifiers come from: the epochs of
	// a new data directory and of hint records (default crypto/rand's
	// Reader; the simulator passes a seeded source).
	Rand io.Reader
	// ClusterID must be the same on every node and client (default "shoal").
	ClusterID string
	// InitialCluster lists every member with its address; every node of a new
	// cluster must be given the same list. Required.
	InitialCluster []ring.Node
	// Partitions is the ring's fixed partition count Q (default
	// ring.DefaultPartitions). Every node must agree.
	Partitions int
	// TLS is the node certificate and cluster CA. Required.
	TLS pki.Material
	// Limits bound keys, values, contexts and objects (wire defaults).
	Limits wire.Limits
	// NoSync acknowledges writes before they reach the disk. Faster, and a
	// power loss or kernel crash can lose acknowledged writes (paper §6.1's
	// durability trade-off). Default false: every acknowledgement follows an
	// fsync.
	NoSync bool
	// HintMaxBytes caps the encoded bytes of the hints this node holds for
	// any one other node (default DefaultHintMaxBytes, 256 MiB). A hinted
	// write that would grow that backlog past it is refused with
	// wire.ErrHintRefused.
	HintMaxBytes int64
	// HintMaxKeys caps the hint records (one per key) this node holds for
	// any one other node (default DefaultHintMaxKeys, 1,000,000). A hinted
	// write that would create one more is refused.
	HintMaxKeys int64
	// HintRetainBytes caps the encoded bytes of the delivered hint records
	// this node retains, across all owners (default DefaultHintRetainBytes,
	// 64 MiB; negative: none, a delivered record is deleted). A record in
	// which this node coordinated writes for an owner while no primary of
	// the key was live is retained after delivery (hint.Record.Retained),
	// so that its actor serves the key's next outage too and the key's
	// clock gains no actor per outage. Past the cap the oldest retained
	// records are deleted: each costs its key one more actor the next time
	// this node stands in for it.
	HintRetainBytes int64
	// HintWindow has Cassandra's max_hint_window semantics (default
	// DefaultHintWindow, 3h): once the oldest hint this node holds for a node
	// is older than HintWindow, hinted writes that would create a new record
	// for it are refused, while writes to keys it already holds a record for
	// are still merged.
	HintWindow time.Duration
	// HintRate throttles hint delivery, in encoded bytes per second across
	// all owners (default DefaultHintRate, 8 MiB/s).
	HintRate int64
	// HintInterval is the pause between hint delivery passes (default
	// DefaultHintInterval, 1s).
	HintInterval time.Duration
	// NoTrees runs the node without hash trees: no upkeep on the write
	// path, no rebuild at start, no verify and no anti-entropy. Its
	// exchanges (a cycle, an on-demand repair) fail without sending
	// anything, and it refuses every exchange a peer asks for, so its
	// replicas converge only by hints and read repair. Default false: the
	// trees are kept and anti-entropy runs (AntiEntropyInterval). It exists
	// to measure what the trees cost (docs/BENCHMARKS.md); every node of a
	// cluster should agree, as peers of a node without trees count failed
	// exchanges with it.
	NoTrees bool
	// TreeVerifyInterval is the pause between background checks of the
	// live hash trees against trees rebuilt by a scan of the store, one
	// partition at a time in short snapshots at TreeRebuildRate
	// (default DefaultTreeVerifyInterval, 6h; negative: never). A tree
	// found differing is replaced by the rebuilt one and counted
	// (wire.StatusOK.TreeMismatches).
	TreeVerifyInterval time.Duration
	// TreeRebuildRate throttles the rebuild of the hash trees that each
	// start runs while the node serves, and each verify's scan, in keys
	// per second (default DefaultTreeRebuildRate; negative: unthrottled). A partition's
	// exchanges wait for its tree: the node's own cycles skip it and its
	// peers' are refused (wire.ErrBusy) until then; wire.StatusOK's
	// TreesRebuilding counts the partitions not ready yet.
	TreeRebuildRate int64
	// N is the replication factor; it must match the drivers' (default
	// DefaultN, 3). A node replicates a partition when it is among the first
	// N distinct owners of its preference list; it exchanges only those
	// partitions, with their other replicas, and refuses an exchange of any
	// other.
	N int
	// AntiEntropyInterval is the length of an anti-entropy cycle (default
	// DefaultAntiEntropyInterval, 30s; negative: anti-entropy off). The
	// first cycle starts one interval after Run, and each of the next as
	// the previous ends. A cycle takes the partitions this node replicates
	// in turn, spread evenly over the interval (it runs late if its
	// exchanges take longer), and exchanges each with each of its other
	// replicas, one exchange at a time, repairing what differs by a merge
	// both ways. It skips a pair (partition, peer) when this node's tree of
	// the partition has not changed since its own exchange found the pair
	// equal, or when the peer compared the pair since this node's previous
	// turn at it (storaged/antientropy.Skips argues that nothing is missed:
	// a write one replica holds and another lacks is compared within two
	// cycles); every 10th cycle skips nothing.
	AntiEntropyInterval time.Duration
	// AntiEntropyRate throttles anti-entropy, in bytes per second of hashes
	// and objects moved either way (default DefaultAntiEntropyRate, 8 MiB/s).
	AntiEntropyRate int64
	// GossipInterval is the pause between this node's gossip rounds: each
	// exchanges cluster state digests with one random other member (or
	// seed), and the full states on a mismatch (default
	// DefaultGossipInterval, 1s; negative: gossip off, the node still
	// answers its peers' rounds).
	GossipInterval time.Duration
	// Join lists seeds, "host:port" addresses of running nodes of the
	// cluster, used only to find a first peer to gossip with. A node
	// started with seeds and no cluster state in its data directory never
	// makes one from InitialCluster: it takes, whole, the first state a
	// seed (or any peer) gives it, and until then has none. Without seeds
	// a node with no state makes one from InitialCluster. See gossip.go
	// for what keeps two groups started apart from merging.
	Join []string
	// Peers bound what clients and other nodes may cost this node: memory
	// held for them, connections per source and in total, streams, the
	// handshake rate, and deadlines for a hello and for a frame (the
	// defaults of wire.PeerLimits keep a node under 256 MiB of RSS).
	Peers wire.PeerLimits
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Swim tunes the failure detector the nodes run among themselves
	// (ringsync/swim; its zero value means swim's defaults). A negative
	// Swim.ProbeInterval turns the detector off: every member then counts
	// as alive.
	Swim swim.Config
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("storaged: node id is required"))
	}
	if c.DataDir == "" && c.Store == nil {
		errs = append(errs, errors.New("storaged: data directory is required"))
	}
	if len(c.InitialCluster) == 0 {
		errs = append(errs, errors.New("storaged: initial cluster is required"))
	} else if _, ok := c.self(); !ok && c.ID != "" {
		errs = append(errs, fmt.Errorf("storaged: node %q is not in the initial cluster", c.ID))
	}
	if c.TLS.CA == nil || len(c.TLS.Cert.Certificate) == 0 {
		errs = append(errs, errors.New("storaged: tls ca and node certificate are required"))
	} else if role, id, err := c.TLS.Role(); err != nil {
		errs = append(errs, fmt.Errorf("storaged: certificate: %w", err))
	} else if role != pki.RoleNode || ring.NodeID(id) != c.ID {
		errs = append(errs, fmt.Errorf("storaged: certificate is for %s %q, want node %q", role, id, c.ID))
	}
	for _, j := range c.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			errs = append(errs, fmt.Errorf("storaged: join seed %q: %w", j, err))
		}
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"hint max bytes", c.HintMaxBytes},
		{"hint max keys", c.HintMaxKeys},
		{"hint window", int64(c.HintWindow)},
		{"hint rate", c.HintRate},
		{"hint interval", int64(c.HintInterval)},
		{"replication factor n", int64(c.N)},
		{"anti-entropy rate", c.AntiEntropyRate},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("storaged: %s is negative (zero means the default)", f.name))
		}
	}
	if c.Swim.ProbeInterval >= 0 {
		if err := c.Swim.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("storaged: failure detector: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (c Config) self() (ring.Node, bool) {
	for _, n := range c.InitialCluster {
		if n.ID == c.ID {
			return n, true
		}
	}
	return ring.Node{}, false
}

func (c *Config) setDefaults() {
	if c.ClusterID == "" {
		c.ClusterID = DefaultClusterID
	}
	if c.Partitions == 0 {
		c.Partitions = ring.DefaultPartitions
	}
	if c.Listen == "" {
		if n, ok := c.self(); ok {
			c.Listen = n.Addr
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Limits = c.Limits.WithDefaults()
	if c.HintMaxBytes == 0 {
		c.HintMaxBytes = DefaultHintMaxBytes
	}
	if c.HintRetainBytes == 0 {
		c.HintRetainBytes = DefaultHintRetainBytes
	}
	if c.HintMaxKeys == 0 {
		c.HintMaxKeys = DefaultHintMaxKeys
	}
	if c.HintWindow == 0 {
		c.HintWindow = DefaultHintWindow
	}
	if c.HintRate == 0 {
		c.HintRate = DefaultHintRate
	}
	if c.HintInterval == 0 {
		c.HintInterval = DefaultHintInterval
	}
	if c.TreeVerifyInterval == 0 {
		c.TreeVerifyInterval = DefaultTreeVerifyInterval
	}
	if c.TreeRebuildRate == 0 {
		c.TreeRebuildRate = DefaultTreeRebuildRate
	}
	if c.N == 0 {
		c.N = DefaultN
	}
	if c.AntiEntropyInterval == 0 {
		c.AntiEntropyInterval = DefaultAntiEntropyInterval
	}
	if c.AntiEntropyRate == 0 {
		c.AntiEntropyRate = DefaultAntiEntropyRate
	}
	if c.GossipInterval == 0 {
		c.GossipInterval = DefaultGossipInterval
	}
	c.Clock = clock.Or(c.Clock)
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
}
