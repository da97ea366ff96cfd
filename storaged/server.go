package storaged

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Server is one storage node. Create it with New, run it with Run.
type Server struct {
	cfg     Config
	log     *slog.Logger
	st      *store.Store
	ep      *wire.Endpoint
	actor   dvv.Actor
	ring    atomic.Pointer[ring.Ring]
	started time.Time
	closed  atomic.Bool
}

// New opens the data directory (taking its lock), builds the ring from the
// initial cluster and binds the listen address. Nothing is served until Run.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := ring.New(cfg.Partitions, cfg.InitialCluster)
	if err != nil {
		return nil, fmt.Errorf("storaged: ring: %w", err)
	}
	st, err := store.Open(cfg.DataDir, store.Options{NoSync: cfg.NoSync, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("storaged: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger.With("node", cfg.ID),
		st:      st,
		actor:   dvv.Actor{Node: cfg.ID, Epoch: st.Epoch()},
		started: time.Now(),
	}
	s.ring.Store(r)
	s.ep, err = wire.NewEndpoint(wire.EndpointConfig{
		Addr:      cfg.Listen,
		TLS:       cfg.TLS,
		ClusterID: cfg.ClusterID,
		Handler:   s,
		// A get is one bbolt read: cheaper than a goroutine hand-off.
		Inline: func(t wire.Type) bool { return t == wire.TypeGet },
		Logger: s.log,
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("storaged: %w", err)
	}
	s.log.Info("node ready", "addr", s.ep.Addr().String(), "epoch", fmt.Sprintf("%016x", st.Epoch()),
		"fresh", st.Fresh(), "ring_version", r.Version(), "partitions", r.Partitions(), "durable", !cfg.NoSync)
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ep.Addr() }

// Run serves until ctx ends, then shuts down gracefully and returns.
func (s *Server) Run(ctx context.Context) error {
	err := s.ep.Serve(ctx)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops serving: requests in flight finish, queued writes commit, and
// the data directory is released. Idempotent.
func (s *Server) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := s.ep.Close()
	if serr := s.st.Close(); serr != nil && !errors.Is(serr, store.ErrClosed) {
		err = errors.Join(err, serr)
	}
	s.log.Info("node stopped")
	return err
}
