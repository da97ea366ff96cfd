package wire

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/wire/pki"
)

// EndpointConfig configures an Endpoint. Zero durations mean the documented
// defaults.
type EndpointConfig struct {
	// Addr is the local UDP address to bind, e.g. "127.0.0.2:7070". Both
	// listening and dialing use it, so a process is one address on the
	// network. Required unless PacketConn is set; use port 0 for any free
	// port.
	Addr string
	// PacketConn, when set, is used instead of binding Addr (which is then
	// ignored): a simulated network's connection (internal/sim), say. The
	// endpoint owns it and closes it on Close. Nil: bind a UDP socket.
	PacketConn net.PacketConn
	// TLS is this process's certificate and the cluster CA.
	TLS pki.Material
	// ClusterID must match the peer's. Required.
	ClusterID string
	// Handler serves incoming requests; nil makes a dial-only endpoint.
	Handler Handler
	// Inline reports request types cheap and non-blocking enough to serve
	// on the lane's reader itself, saving a goroutine hand-off per request;
	// other requests on that lane wait meanwhile. Nil serves everything on
	// its own goroutine.
	Inline func(Type) bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// HandshakeTimeout bounds connection setup (default 3s).
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that heard nothing for this long
	// (default 10s); KeepAlive pings idle connections (default 3s) so live
	// peers never hit it.
	IdleTimeout, KeepAlive time.Duration
	// RequestTimeout bounds how long a handler may take to answer (default
	// 30s). Lanes are long-lived and have no read deadline between
	// requests; a peer that goes silent is dropped by IdleTimeout.
	RequestTimeout time.Duration
	// PeerLimits bound what peers may cost a serving node.
	PeerLimits
}

func (c *EndpointConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = 3 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 10 * time.Second
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = 3 * time.Second
	}
	if c.MaxStreams == 0 {
		c.MaxStreams = 16
	}
	if c.MaxRequests == 0 {
		c.MaxRequests = 4096
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
	setZero(&c.MemoryTotal, 192<<20)
	setZero(&c.MemoryPerConn, 32<<20)
	setZero(&c.BudgetStall, 10*time.Second)
	setZero(&c.MaxConns, 4096)
	setZero(&c.MaxConnsPerSource, 64)
	setZero(&c.HandshakeRate, 50)
	setZero(&c.HandshakeBurst, 100)
	setZero(&c.RetryAbove, 32)
	setZero(&c.HelloTimeout, 5*time.Second)
	setZero(&c.FrameTimeout, 10*time.Second)
	setZero(&c.FrameMinRate, 64<<10)
}

func setZero[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// Validate reports every problem with the configuration.
func (c EndpointConfig) Validate() error {
	var errs []error
	if c.Addr == "" && c.PacketConn == nil {
		errs = append(errs, errors.New("wire: endpoint address is required"))
	}
	if c.ClusterID == "" {
		errs = append(errs, errors.New("wire: cluster id is required"))
	}
	if c.TLS.CA == nil {
		errs = append(errs, errors.New("wire: cluster ca is required"))
	}
	if len(c.TLS.Cert.Certificate) == 0 {
		errs = append(errs, errors.New("wire: certificate is required"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"handshake timeout", c.HandshakeTimeout}, {"idle timeout", c.IdleTimeout}, {"keepalive", c.KeepAlive},
		{"request timeout", c.RequestTimeout}, {"budget stall", c.BudgetStall}, {"hello timeout", c.HelloTimeout},
		{"frame timeout", c.FrameTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("wire: %s is %v, must not be negative", d.name, d.v))
		}
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{"max streams", c.MaxStreams}, {"max requests", c.MaxRequests}, {"memory total", c.MemoryTotal},
		{"memory per connection", c.MemoryPerConn}, {"max connections", int64(c.MaxConns)},
		{"max connections per source", int64(c.MaxConnsPerSource)}, {"handshake burst", int64(c.HandshakeBurst)},
		{"retry above", int64(c.RetryAbove)}, {"frame min rate", c.FrameMinRate},
	} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("wire: %s is %d, must not be negative", n.name, n.v))
		}
	}
	if c.HandshakeRate < 0 {
		errs = append(errs, fmt.Errorf("wire: handshake rate is %g, must not be negative", c.HandshakeRate))
	}
	if c.MemoryTotal > 0 && c.MemoryPerConn > c.MemoryTotal {
		errs = append(errs, fmt.Errorf("wire: memory per connection %d is over memory total %d", c.MemoryPerConn, c.MemoryTotal))
	}
	return errors.Join(errs...)
}

// Endpoint is one process's QUIC presence: a single UDP socket and
// quic.Transport used for both accepting and dialing, and a cache of
// long-lived connections to peers. Safe for concurrent use.
type Endpoint struct {
	cfg   EndpointConfig
	udp   net.PacketConn
	tr    *quic.Transport
	quic  *quic.Config
	ln    *quic.Listener
	self  string // our identity id, from our certificate
	role  pki.Role
	start time.Time

	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // accept loop, connections, streams
	// inflight counts requests being served, so Close can let them answer.
	inflight sync.WaitGroup

	budget  *budget
	count   counters
	notices Notices

	mu    sync.Mutex
	peers map[string]*peer // by address
	conns map[*quic.Conn]struct{}
	admit *admission
}

// NewEndpoint binds cfg.Addr. When cfg.Handler is set it also listens; call
// Serve to accept connections.
func NewEndpoint(cfg EndpointConfig) (*Endpoint, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	role, self, err := cfg.TLS.Role()
	if err != nil {
		return nil, fmt.Errorf("wire: own certificate: %w", err)
	}
	if cfg.Handler != nil && role != pki.RoleNode {
		return nil, fmt.Errorf("wire: serving needs a node certificate, have %s", role)
	}
	udp := cfg.PacketConn
	if udp == nil {
		ua, err := net.ResolveUDPAddr("udp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("wire: resolve %s: %w", cfg.Addr, err)
		}
		if udp, err = net.ListenUDP("udp", ua); err != nil {
			return nil, fmt.Errorf("wire: bind %s: %w", cfg.Addr, err)
		}
	}
	e := &Endpoint{
		cfg:    cfg,
		udp:    udp,
		self:   self,
		role:   role,
		start:  time.Now(),
		peers:  make(map[string]*peer),
		conns:  make(map[*quic.Conn]struct{}),
		budget: newBudget(cfg.MemoryTotal, cfg.MemoryPerConn),
		admit:  newAdmission(cfg.MaxConns, cfg.MaxConnsPerSource, cfg.HandshakeRate, cfg.HandshakeBurst),
		quic: &quic.Config{
			HandshakeIdleTimeout:           cfg.HandshakeTimeout,
			MaxIdleTimeout:                 cfg.IdleTimeout,
			KeepAlivePeriod:                cfg.KeepAlive,
			MaxIncomingStreams:             cfg.MaxStreams,
			MaxIncomingUniStreams:          -1,
			InitialStreamReceiveWindow:     1 << 20,
			MaxStreamReceiveWindow:         MaxFrame,
			InitialConnectionReceiveWindow: 4 << 20,
			MaxConnectionReceiveWindow:     64 << 20,
		},
		tr: &quic.Transport{Conn: udp, StatelessResetKey: resetKey(cfg.TLS.Cert)},
	}
	e.quic.AllowConnectionWindowIncrease = func(*quic.Conn, uint64) bool { return !e.budget.tight() }
	e.tr.ConnContext = e.connContext
	e.tr.VerifySourceAddress = e.verifySource
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if cfg.Handler != nil {
		e.ln, err = e.tr.Listen(pki.ServerConfig(cfg.TLS, ALPN), e.quic)
		if err != nil {
			udp.Close()
			return nil, fmt.Errorf("wire: listen %s: %w", cfg.Addr, err)
		}
	}
	return e, nil
}

// resetKey derives the QUIC stateless-reset key from the process's private
// key (secret, and stable across restarts), so a restarted node recognises its
// predecessor's connections and resets them at once instead of leaving peers
// to wait for an idle timeout. Without a usable key, resets are off.
func resetKey(cert tls.Certificate) *quic.StatelessResetKey {
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil
	}
	h := sha256.New()
	h.Write([]byte("shoal stateless reset v1"))
	h.Write(der)
	var key quic.StatelessResetKey
	copy(key[:], h.Sum(nil))
	return &key
}

// Addr is the bound local address.
func (e *Endpoint) Addr() net.Addr { return e.udp.LocalAddr() }

// ID is the identity in this endpoint's certificate.
func (e *Endpoint) ID() string { return e.self }

// drainTimeout bounds how long Close waits for requests in flight.
const drainTimeout = 5 * time.Second

// Close stops accepting connections and requests, lets requests in flight
// answer (up to 5s), closes every connection and the socket, and waits for
// every goroutine the endpoint started.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	e.cancel()
	e.mu.Unlock()
	if e.ln != nil {
		e.ln.Close()
	}
	drained := make(chan struct{})
	go func() { e.inflight.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
	}
	e.mu.Lock()
	for c := range e.conns {
		c.CloseWithError(0, "endpoint closing")
	}
	e.mu.Unlock()
	e.wg.Wait()
	err := e.tr.Close()
	if uerr := e.udp.Close(); err == nil && !errors.Is(uerr, net.ErrClosed) {
		err = uerr
	}
	return err
}

// startRequest counts a request in, unless the endpoint is closing.
func (e *Endpoint) startRequest() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx.Err() != nil {
		return false
	}
	e.wg.Add(1)
	e.inflight.Add(1)
	return true
}

// goAsync runs fn on a goroutine the endpoint owns (Close waits for it),
// unless the endpoint is closing.
func (e *Endpoint) goAsync(fn func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx.Err() != nil {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn()
	}()
	return true
}

// track registers a connection so Close can close it; with goroutine set it
// also counts in the goroutine that will serve it. False means closing.
func (e *Endpoint) track(c *quic.Conn, goroutine bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx.Err() != nil {
		return false
	}
	e.conns[c] = struct{}{}
	if goroutine {
		e.wg.Add(1)
	}
	return true
}

func (e *Endpoint) untrack(c *quic.Conn) {
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
}
