package driver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
)

// Client is a connection to a Shoal cluster. Safe for concurrent use.
type Client struct {
	cfg    Config
	log    *slog.Logger
	ep     *wire.Endpoint
	ring   atomic.Pointer[ring.Ring]
	health *health

	ctx    context.Context // ended by Close; parent of background work
	cancel context.CancelFunc
	wg     sync.WaitGroup // ring refresher, background replication
	closed atomic.Bool
}

// Open binds the driver's endpoint and fetches the ring from the first seed
// that answers. It fails if no seed answers before ctx ends.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	ep, err := wire.NewEndpoint(wire.EndpointConfig{
		Addr:      cfg.LocalAddr,
		TLS:       cfg.TLS,
		ClusterID: cfg.ClusterID,
		Logger:    cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	c := &Client{cfg: cfg, log: cfg.Logger, ep: ep, health: newHealth()}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	r, err := c.fetchRing(ctx, cfg.Seeds)
	if err != nil {
		c.cancel()
		ep.Close()
		return nil, err
	}
	c.ring.Store(r)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.refreshRing()
	}()
	return c, nil
}

// Close stops background work (letting replication in flight finish) and
// closes connections. Calls after Close fail with ErrClosed.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.cancel()
	c.wg.Wait()
	return c.ep.Close()
}

// Ring returns the driver's current view of the ring.
func (c *Client) Ring() *ring.Ring { return c.ring.Load() }

// fetchRing asks addresses in order until one answers.
func (c *Client) fetchRing(ctx context.Context, addrs []string) (*ring.Ring, error) {
	var errs []error
	for _, a := range addrs {
		cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		var resp wire.RingOK
		err := c.ep.Call(cctx, a, "", &wire.RingReq{}, &resp)
		cancel()
		if err == nil && resp.Ring != nil {
			return resp.Ring, nil
		}
		if err == nil {
			err = errors.New("empty ring")
		}
		errs = append(errs, fmt.Errorf("%s: %w", a, err))
	}
	return nil, fmt.Errorf("driver: no seed answered with a ring: %w", errors.Join(errs...))
}

// refreshRing re-fetches the ring from its members (then the seeds)
// periodically and adopts newer versions.
func (c *Client) refreshRing() {
	t := time.NewTicker(c.cfg.RingRefresh)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		cur := c.ring.Load()
		var addrs []string
		for _, n := range cur.Nodes() {
			if c.health.up(n.ID, time.Now()) {
				addrs = append(addrs, n.Addr)
			}
		}
		addrs = append(addrs, c.cfg.Seeds...)
		r, err := c.fetchRing(c.ctx, addrs)
		if err != nil {
			c.log.Warn("ring refresh failed", "err", err)
			continue
		}
		if r.Version() > cur.Version() {
			c.ring.Store(r)
			c.log.Info("ring updated", "version", r.Version())
		}
	}
}

// replicas returns the key's primaries (first N distinct nodes).
func (c *Client) replicas(key []byte) []ring.Node {
	p, _ := c.ring.Load().Preference(key, c.cfg.N)
	return p
}

// call sends one request to a node and records the outcome for failure
// detection.
func (c *Client) call(ctx context.Context, n ring.Node, req, resp any) error {
	err := c.ep.Call(ctx, n.Addr, string(n.ID), req, resp)
	var ce *wire.CallError
	switch {
	case err == nil:
		c.health.ok(n.ID)
	case errors.As(err, &ce) && !errors.Is(err, context.Canceled):
		c.health.fail(n.ID, time.Now())
	default:
		c.health.ok(n.ID) // it answered, even if with an error
	}
	return err
}
