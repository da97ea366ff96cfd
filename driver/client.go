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
	"github.com/shoalkv/shoal/wire/clock"
)

// Client is a connection to a Shoal cluster. Safe for concurrent use.
type Client struct {
	cfg    Config
	log    *slog.Logger
	clock  clock.Clock
	rand   *lockedRand
	ep     *wire.Endpoint
	ring   atomic.Pointer[ring.Ring]
	health *health
	// repairs bounds read repairs in flight (a semaphore); stats counts them.
	repairs chan struct{}
	stats   stats

	ctx    context.Context // ended by Close; the ring refresher's and the probe's
	cancel context.CancelFunc
	loops  sync.WaitGroup // the ring refresher and the probe
	// bgMu orders starting background work (spawn) against Close, so no
	// goroutine is added to wg once Close waits on it.
	bgMu   sync.Mutex
	wg     sync.WaitGroup // replication and repairs outliving their calls
	closed atomic.Bool
	// The watchdog outlives the rest: it bounds the calls Close waits for.
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

// Open binds the driver's endpoint and fetches the ring from the seeds,
// all at once, taking the first answer, so a dead seed costs nothing
// while another answers. It fails with an *OpenError (matching
// ErrUnavailable) if no seed answers before ctx ends or Timeout passes.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	ep, err := wire.NewEndpoint(wire.EndpointConfig{
		Addr:       cfg.LocalAddr,
		PacketConn: cfg.PacketConn,
		TLS:        cfg.TLS,
		ClusterID:  cfg.ClusterID,
		Logger:     cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	c := &Client{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, rand: newLockedRand(cfg.Rand), ep: ep,
		health: newHealth(cfg), repairs: make(chan struct{}, maxRepairs)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	r, err := c.openRing(ctx)
	if err != nil {
		c.cancel()
		ep.Close()
		return nil, err
	}
	c.ring.Store(r)
	c.loops.Go(func() { c.every(c.ctx, c.cfg.RingRefresh, c.refreshRing) })
	c.loops.Go(func() { c.every(c.ctx, c.cfg.ProbeInterval, c.probe) })
	wctx, stop := context.WithCancel(context.Background())
	c.stopWatch, c.watchDone = stop, make(chan struct{})
	go func() {
		defer close(c.watchDone)
		c.every(wctx, watchTick(c.cfg), c.watch)
	}()
	return c, nil
}

// Close lets the replication and read repairs in flight finish, so a put
// answered at W still reaches all N replicas; each attempt stays bounded by
// CoordinatorTimeout and the silence rule, whose watchdog Close stops only
// after them, so a dead node delays Close by at most about
// CoordinatorTimeout per spare tried. Then it closes connections. Calls
// after Close fail with ErrClosed.
func (c *Client) Close() error {
	c.bgMu.Lock()
	first := c.closed.CompareAndSwap(false, true)
	c.bgMu.Unlock()
	if !first {
		return nil
	}
	c.cancel()
	c.loops.Wait()
	// The watchdog still runs: it ends the calls below that wait on a dead
	// node, as it does for any call (CoordinatorTimeout, silence).
	c.wg.Wait()
	c.stopWatch()
	<-c.watchDone
	return c.ep.Close()
}

// watch ends requests past CoordinatorTimeout and applies the failure
// detector's silence rule (see health.watch). A watchdog instead of a timer
// per request: one ticker for the client rather than a timer started and
// stopped for every request.
func (c *Client) watch() {
	for _, id := range c.health.watch(c.clock.Now()) {
		c.log.Info("node marked down: it went silent with requests outstanding", "node", id, "silence", c.cfg.Silence)
	}
}

// watchTick is the watchdog's period: a fifth of the shorter of
// CoordinatorTimeout and Silence (when the silence rule is on).
func watchTick(cfg Config) time.Duration {
	d := cfg.CoordinatorTimeout
	if cfg.Silence > 0 {
		d = min(d, cfg.Silence)
	}
	return max(d/5, time.Millisecond)
}

// spawn runs fn on a goroutine that Close waits for, unless the client is
// closed (then it returns false and fn never runs).
func (c *Client) spawn(fn func()) bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed.Load() {
		return false
	}
	c.wg.Go(fn)
	return true
}

// Ring returns the driver's current view of the ring.
func (c *Client) Ring() *ring.Ring { return c.ring.Load() }

// fetchRing asks addresses in order until one answers (the ring refresh:
// Open asks its seeds at once, openRing).
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

// refreshRing re-fetches the ring from its members (then the seeds) and
// adopts a newer version; it runs every RingRefresh.
func (c *Client) refreshRing() {
	cur := c.ring.Load()
	var addrs []string
	for _, n := range cur.Nodes() {
		if c.health.up(n.ID) {
			addrs = append(addrs, n.Addr)
		}
	}
	addrs = append(addrs, c.cfg.Seeds...)
	r, err := c.fetchRing(c.ctx, addrs)
	if err != nil {
		c.log.Warn("ring refresh failed", "err", err)
		return
	}
	if r.Version() > cur.Version() {
		c.ring.Store(r)
		c.log.Info("ring updated", "version", r.Version())
	}
}

// plan returns the sloppy quorum of key under the current ring and the
// failure detector's beliefs.
func (c *Client) plan(key []byte) *plan {
	primaries, fallbacks := c.ring.Load().Preference(key, c.cfg.N)
	return newPlan(primaries, fallbacks, c.health.up)
}

// errNoAnswer is the cause with which the watchdog ends a request that had
// no answer within the attempt limit (CoordinatorTimeout, as scaled).
var errNoAnswer = errors.New("no answer within the attempt limit")

// call sends one request to a node, as one attempt: besides ctx, the
// failure detector's watchdog (watch) ends it once it is older than the
// attempt limit in force (CoordinatorTimeout, scaled: Thresholds; give or
// take one watchdog tick), or sooner if the node falls silent. It tells the failure detector how it went:
//   - an answer (even an error answer) shows the node alive, and a slow one
//     counts against it;
//   - a transport failure, no answer within the attempt limit, or the
//     silence rule marks it down;
//   - a call the caller ended (its deadline or cancellation) is a slow
//     answer if it had waited past the slow threshold, and otherwise says nothing:
//     a caller's tight deadline must not mark healthy nodes down.
func (c *Client) call(ctx context.Context, n ring.Node, req, resp any) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := c.clock.Now()
	f := c.health.begin(n.ID, start, cancel)
	err := c.ep.Call(ctx, n.Addr, string(n.ID), req, resp)
	now := c.clock.Now()
	took := now.Sub(start)
	o, cause := heardAnswer, error(nil)
	var ce *wire.CallError
	switch {
	case err == nil:
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), errSilent):
		o = heardNothing // marked down already by the silence rule
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), errNoAnswer):
		o, cause = heardFailure, fmt.Errorf("%w (%v)", errNoAnswer, c.health.thresholds().Limit)
	case ctx.Err() != nil:
		if took < c.health.thresholds().Slow {
			o = heardNothing
		}
	case errors.As(err, &ce):
		o, cause = heardFailure, err
	}
	c.health.end(f, o, took, cause, now)
	return err
}
