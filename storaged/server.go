package storaged

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/hint"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/clock"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Server is one storage node. Create it with New, run it with Run.
type Server struct {
	cfg     Config
	log     *slog.Logger
	st      store.Engine
	ep      *wire.Endpoint
	actor   dvv.Actor
	clock   clock.Clock
	ring    atomic.Pointer[ring.Ring]
	started time.Time
	closed  atomic.Bool
	// quarantined is where store.Open moved a damaged data file ("": none).
	quarantined string

	policy   hint.Policy
	hints    *hintBook
	rejected rejections

	// The hint delivery goroutine (delivery.go), started by Run and
	// stopped by Close.
	deliverMu   sync.Mutex
	deliverStop context.CancelFunc
	deliverDone chan struct{}

	// The live hash trees (trees.go), the goroutine that rebuilds them
	// while the node serves (rebuild.go) and the background verify, both
	// started by Run and stopped by Close.
	trees       *trees
	rebuildMu   sync.Mutex
	rebuildStop context.CancelFunc
	rebuildDone chan struct{}
	verifyMu    sync.Mutex
	verifyStop  context.CancelFunc
	verifyDone  chan struct{}

	// The anti-entropy goroutine (exchange_run.go), started by Run and
	// stopped by Close, its counters, the exchange slot and byte throttle
	// it shares with on-demand repairs, and those repairs (repair.go),
	// stopped by Close.
	aeMu   sync.Mutex
	aeStop context.CancelFunc
	aeDone chan struct{}
	ae     aeCounters
	aex    aeShared
	rep    repairs

	// The cluster state and the gossip loop (gossip.go), started by Run and
	// stopped by Close.
	gsp gossip
	// The failure detector (swim.go), started by Run and stopped by Close.
	swim swimShell
}

// New opens the data directory (taking its lock), builds the ring from the
// initial cluster, marks every partition's hash tree for a rebuild and binds
// the listen address. Nothing is served until Run.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := ring.New(cfg.Partitions, cfg.InitialCluster)
	if err != nil {
		return nil, fmt.Errorf("storaged: ring: %w", err)
	}
	st := cfg.Store
	var quarantined string
	if st == nil {
		// A damaged data file never stops the node: store.Open moves it
		// aside and starts empty under a new epoch (peers repair the data).
		bs, err := store.Open(cfg.DataDir, store.Options{NoSync: cfg.NoSync, Logger: cfg.Logger, Rand: cfg.Rand, Partition: r.PartitionOf, Partitions: r.Partitions()})
		if err != nil {
			return nil, fmt.Errorf("storaged: %w", err)
		}
		if quarantined = bs.Quarantined(); quarantined != "" {
			cfg.Logger.Error("storaged: the data file was damaged and moved aside; starting empty under a new epoch",
				"node", cfg.ID, "moved_to", quarantined)
		}
		st = bs
	}
	// The trees, anti-entropy and (later) handoff scan one partition at a
	// time: a store must be laid out by the ring's partitions.
	if err := st.ScanPartition(r.Partitions()-1, nil, func(_, _ []byte) bool { return false }); err != nil {
		st.Close()
		return nil, fmt.Errorf("storaged: the store is not laid out by the ring's %d partitions: %w", r.Partitions(), err)
	}
	s := &Server{
		quarantined: quarantined,
		cfg:         cfg,
		log:         cfg.Logger.With("node", cfg.ID),
		st:          st,
		actor:       dvv.Actor{Node: string(cfg.ID), Epoch: st.Epoch()},
		clock:       cfg.Clock,
		started:     cfg.Clock.Now(),
		policy:      hint.Policy{MaxBytes: cfg.HintMaxBytes, MaxKeys: cfg.HintMaxKeys, Window: cfg.HintWindow},
		aex:         newAEShared(cfg.AntiEntropyRate, cfg.Clock.Now()),
	}
	s.rep.init()
	s.hints = newHintBook(s.log)
	s.rejected.log = s.log
	if err := s.hints.load(st); err != nil {
		st.Close()
		return nil, fmt.Errorf("storaged: scan hints: %w", err)
	}
	s.ring.Store(r)
	if err := s.loadState(r); err != nil {
		st.Close()
		return nil, err
	}
	s.trees = newTrees(r.Partitions())
	if cfg.NoTrees {
		s.trees.off = true
		s.log.Info("hash trees off: no upkeep, no verify, no anti-entropy")
	}
	s.trees.rebuildAll()
	s.ep, err = wire.NewEndpoint(wire.EndpointConfig{
		Addr:       cfg.Listen,
		PacketConn: cfg.PacketConn,
		TLS:        cfg.TLS,
		ClusterID:  cfg.ClusterID,
		Handler:    s,
		// A get is one bbolt read: cheaper than a goroutine hand-off.
		Inline:     func(t wire.Type) bool { return t == wire.TypeGet },
		Logger:     s.log,
		PeerLimits: cfg.Peers,
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("storaged: %w", err)
	}
	s.log.Info("node ready", "addr", s.ep.Addr().String(), "epoch", fmt.Sprintf("%016x", st.Epoch()),
		"fresh", st.Fresh(), "ring_version", r.Version(), "partitions", r.Partitions(), "durable", !cfg.NoSync,
		"hint_owners", len(s.hints.pending()))
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ep.Addr() }

// Run serves, rebuilds the hash trees from the store (throttled, while it
// serves), delivers the hints this node holds to their owners, verifies
// its hash trees every TreeVerifyInterval, runs anti-entropy every
// AntiEntropyInterval, gossips the cluster state every GossipInterval
// (gossip.go) and runs the failure detector among the nodes (swim.go),
// until ctx ends; then it shuts down gracefully (Close)
// and returns.
func (s *Server) Run(ctx context.Context) error {
	if err := s.startRebuild(); err != nil {
		return err
	}
	if err := s.startDelivery(); err != nil {
		return err
	}
	if err := s.startVerify(); err != nil {
		return err
	}
	if err := s.startAntiEntropy(); err != nil {
		return err
	}
	if err := s.startGossip(); err != nil {
		return err
	}
	if err := s.startSwim(); err != nil {
		return err
	}
	err := s.ep.Serve(ctx)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops serving: hint delivery stops (a delivery in flight is
// abandoned, and its record kept), so do anti-entropy and a running
// on-demand repair (an exchange in flight is abandoned; its repairs so far
// stand), requests in flight finish, queued writes commit, and the data
// directory is released. Idempotent.
func (s *Server) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.stopDelivery()
	s.stopRebuild()
	s.stopVerify()
	s.stopRepairs()
	s.stopAntiEntropy()
	s.stopGossip()
	s.stopSwim() // before the endpoint closes: it sends its leave
	err := s.ep.Close()
	if serr := s.st.Close(); serr != nil && !errors.Is(serr, store.ErrClosed) {
		err = errors.Join(err, serr)
	}
	s.log.Info("node stopped")
	return err
}
