package driver

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/clock"
	"github.com/shoalkv/shoal/wire/pki"
)

// Config configures a Client. Zero optional fields mean the defaults given.
type Config struct {
	// Seeds are storage node addresses ("host:port"); the ring is fetched
	// from the first that answers. Required.
	Seeds []string
	// ClusterID must match the nodes' (default "shoal").
	ClusterID string
	// TLS holds the cluster CA and a client (or node) certificate. Required.
	TLS pki.Material
	// LocalAddr is the UDP address the driver binds (default ":0": any
	// interface, any port). Bind a fixed address to be one address on the
	// network, as the fault tests do.
	LocalAddr string
	// PacketConn, when set, is used instead of binding LocalAddr: a
	// simulated network's connection (internal/sim). The client owns it.
	PacketConn net.PacketConn
	// Clock is the driver's time source for its failure detector,
	// deadlines it enforces, probes and backoff (default the machine's
	// clock; the simulator gives each client one of its own).
	Clock clock.Clock
	// Rand is the source of the driver's random choices (Update's
	// backoff, the replicas a Get asks first). Nil means math/rand/v2's global generator; the simulator
	// passes a seeded one. The driver serialises its use.
	Rand rand.Source
	// N is the replication factor (default 3), R and W the read and write
	// quorums (default 2 and 2, so R+W > N: paper §4.5's "typical (3,2,2)").
	N, R, W int
	// Timeout bounds one Get, Put or Delete including its retries (default
	// 5s); per-call options override it.
	Timeout time.Duration
	// Timeout is also how long a Get, Put or Delete keeps trying when every
	// attempt failed for want of answers (every node believed down or
	// slow): it retries, with a backoff of up to ProbeInterval, until the
	// deadline, and fails early only on a refusal. Slowness is not
	// failure.
	//
	// CoordinatorTimeout bounds one attempt at a replica, as coordinator or
	// as a replicate target, before the node is marked down and the next
	// node (another primary, or a fallback holding a hint) takes its place
	// (default 1s). A watchdog enforces it, to within a fifth of the
	// shorter of it and Silence. It, SlowAnswer and Silence are floors:
	// the limits in force (Client.Thresholds) grow with the latency the
	// driver measures across the nodes, and double while the evidence
	// points at this process or its network rather than at the nodes
	// (ringsync/detect gives the rules), so a machine starved of CPU slows
	// the driver down without turning healthy nodes into failures, while
	// one node slow or silent among answering ones is marked down as fast
	// as these floors say.
	CoordinatorTimeout time.Duration
	// SlowAnswer is the latency above which an answer counts as a soft
	// failure; three in a row mark the node down until a probe finds it
	// well (default 500ms, about 10x the p99 of a loaded loopback cluster).
	SlowAnswer time.Duration
	// Silence is how long a node may answer nothing at all while requests
	// to it are outstanding before it is marked down and those requests
	// are retried elsewhere (default 250ms). A node killed outright sends
	// no goodbye, so without this the requests in flight to it would each
	// wait out CoordinatorTimeout. Negative disables it.
	Silence time.Duration
	// StaticTimeouts keeps CoordinatorTimeout, SlowAnswer and Silence as
	// configured, not scaled by latency or local health: the driver before
	// it adapted, for comparison (default false).
	StaticTimeouts bool
	// ProbeInterval is how often nodes believed down are probed (default
	// 500ms). A node that comes back is used again within about this long.
	ProbeInterval time.Duration
	// ReadAll makes a Get ask all N replicas at once and wait for R, as the
	// paper describes (§4.5). By default a Get asks R replicas and asks one
	// more whenever one fails or when they have not all answered within
	// SpeculativeDelay: a third less work per read at N=3, R=2, with the
	// tail still covered. Which R it asks first is drawn from Rand per
	// read, round the replicas believed up, so each is asked (and, when
	// stale, read-repaired) with chance R/N on every read of its key: a
	// stale third replica at N=3, R=2 is missed by k reads with chance
	// (1/3)^k. Replicas believed down are asked last.
	ReadAll bool
	// ReadInOrder makes a Get ask the replicas believed up in preference
	// order, so every read of a key asks the same R (default false): the
	// driver before reads were rotated, which never read-repairs the
	// replicas after the first R; for comparison.
	ReadInOrder bool
	// SpeculativeDelay is how long a Get waits for its first R replicas
	// before asking another (default 20ms).
	SpeculativeDelay time.Duration
	// RingRefresh is how often the ring is re-fetched (default 10s).
	RingRefresh time.Duration
	// Limits are checked before anything is sent (wire defaults).
	Limits wire.Limits
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultN = 3
	DefaultR = 2
	DefaultW = 2
)

func (c *Config) setDefaults() {
	if c.ClusterID == "" {
		c.ClusterID = "shoal"
	}
	if c.LocalAddr == "" {
		c.LocalAddr = ":0"
	}
	if c.N == 0 {
		c.N = DefaultN
	}
	if c.R == 0 {
		c.R = DefaultR
	}
	if c.W == 0 {
		c.W = DefaultW
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.CoordinatorTimeout == 0 {
		c.CoordinatorTimeout = time.Second
	}
	if c.SlowAnswer == 0 {
		c.SlowAnswer = 500 * time.Millisecond
	}
	if c.ProbeInterval == 0 {
		c.ProbeInterval = 500 * time.Millisecond
	}
	if c.SpeculativeDelay == 0 {
		c.SpeculativeDelay = 20 * time.Millisecond
	}
	if c.Silence == 0 {
		c.Silence = 250 * time.Millisecond
	}
	if c.RingRefresh == 0 {
		c.RingRefresh = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Clock = clock.Or(c.Clock)
	c.Limits = c.Limits.WithDefaults()
}

// Validate reports every problem at once (after defaults are applied).
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	if len(c.Seeds) == 0 {
		errs = append(errs, errors.New("driver: at least one seed address is required"))
	}
	if c.TLS.CA == nil || len(c.TLS.Cert.Certificate) == 0 {
		errs = append(errs, errors.New("driver: tls ca and certificate are required"))
	}
	if c.N < 1 {
		errs = append(errs, fmt.Errorf("driver: n=%d, want >= 1", c.N))
	}
	if c.R < 1 || c.R > c.N {
		errs = append(errs, fmt.Errorf("driver: r=%d, want 1..n (%d)", c.R, c.N))
	}
	if c.W < 1 || c.W > c.N {
		errs = append(errs, fmt.Errorf("driver: w=%d, want 1..n (%d)", c.W, c.N))
	}
	if c.Timeout < 0 || c.CoordinatorTimeout < 0 || c.RingRefresh < 0 || c.SpeculativeDelay < 0 ||
		c.SlowAnswer < 0 || c.ProbeInterval < 0 {
		errs = append(errs, errors.New("driver: negative duration"))
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
