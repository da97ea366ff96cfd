package transportbench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// handler answers one request payload; the returned slice is only read.
type handler func(req []byte) []byte

// constant answers every request with resp.
func constant(resp []byte) handler { return func([]byte) []byte { return resp } }

// material is a node certificate for the server and a client certificate for
// the caller, both from one throwaway cluster CA. Made once per process: key
// generation is not what is measured.
var material = sync.OnceValues(func() ([2]pki.Material, error) {
	now := time.Now()
	ca, err := pki.NewCA("transportbench", now)
	if err != nil {
		return [2]pki.Material{}, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	issue := func(role pki.Role, id string) (pki.Material, error) {
		leaf, err := ca.Issue(role, id, []string{"127.0.0.1"}, now)
		if err != nil {
			return pki.Material{}, err
		}
		cert, err := leaf.TLS()
		if err != nil {
			return pki.Material{}, err
		}
		return pki.Material{CA: pool, Cert: cert}, nil
	}
	node, err := issue(pki.RoleNode, "n1")
	if err != nil {
		return [2]pki.Material{}, err
	}
	client, err := issue(pki.RoleClient, "bench")
	if err != nil {
		return [2]pki.Material{}, err
	}
	return [2]pki.Material{node, client}, nil
})

// quicConfig mirrors what wire.NewEndpoint configures, so the only variable is
// how requests are laid onto streams.
func quicConfig() *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout:           3 * time.Second,
		MaxIdleTimeout:                 10 * time.Second,
		KeepAlivePeriod:                3 * time.Second,
		MaxIncomingStreams:             4096,
		MaxIncomingUniStreams:          -1,
		InitialStreamReceiveWindow:     1 << 20,
		MaxStreamReceiveWindow:         wire.MaxFrame,
		InitialConnectionReceiveWindow: 4 << 20,
		MaxConnectionReceiveWindow:     64 << 20,
	}
}

// server is a QUIC listener on its own UDP socket and quic.Transport on
// 127.0.0.1. Every goroutine it starts is counted in wg and joined by close.
type server struct {
	udp *net.UDPConn
	tr  *quic.Transport
	ln  *quic.Listener

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[*quic.Conn]struct{}
}

// serveConn serves one accepted connection and returns when it is done. It
// runs in a goroutine counted in s.wg, so it may call s.wg.Add for its own.
type serveConn func(s *server, c *quic.Conn)

// netem shapes what a socket sends; nil leaves the plain *net.UDPConn, which
// quic-go drives with its fast paths (GSO, ECN, batched reads).
type netem func(*net.UDPConn) net.PacketConn

func (n netem) wrap(udp *net.UDPConn) net.PacketConn {
	if n == nil {
		return udp
	}
	return n(udp)
}

func newServer(serve serveConn, em netem) (*server, error) {
	m, err := material()
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	tr := &quic.Transport{Conn: em.wrap(udp)}
	ln, err := tr.Listen(pki.ServerConfig(m[0], wire.ALPN), quicConfig())
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, err
	}
	s := &server{udp: udp, tr: tr, ln: ln, conns: make(map[*quic.Conn]struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept(serve)
	return s, nil
}

func (s *server) addr() net.Addr { return s.udp.LocalAddr() }

func (s *server) accept(serve serveConn) {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept(s.ctx)
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			c.CloseWithError(0, "closing")
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			serve(s, c)
		}()
	}
}

// close stops accepting, closes every connection, joins every goroutine and
// releases the socket.
func (s *server) close() error {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.CloseWithError(0, "closing")
	}
	s.mu.Unlock()
	s.wg.Wait()
	err := s.tr.Close()
	if uerr := s.udp.Close(); err == nil && !errors.Is(uerr, net.ErrClosed) {
		err = uerr
	}
	return err
}

// client is one dialed connection on its own UDP socket and quic.Transport,
// authenticated with the client certificate.
type client struct {
	udp  *net.UDPConn
	tr   *quic.Transport
	conn *quic.Conn
}

func dial(to net.Addr, em netem) (*client, error) {
	m, err := material()
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	tr := &quic.Transport{Conn: em.wrap(udp)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := tr.Dial(ctx, to, pki.ClientConfig(m[1], wire.ALPN, "n1"), quicConfig())
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, fmt.Errorf("dial %s: %w", to, err)
	}
	if p := conn.ConnectionState().TLS; p.Version != tls.VersionTLS13 || len(p.PeerCertificates) == 0 {
		conn.CloseWithError(0, "")
		tr.Close()
		udp.Close()
		return nil, errors.New("connection is not mutually authenticated TLS 1.3")
	}
	return &client{udp: udp, tr: tr, conn: conn}, nil
}

func (c *client) close() error {
	c.conn.CloseWithError(0, "done")
	err := c.tr.Close()
	if uerr := c.udp.Close(); err == nil && !errors.Is(uerr, net.ErrClosed) {
		err = uerr
	}
	return err
}
