package wire_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/internal/sim"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/pki"
)

// The tests of this file run a serving endpoint and hostile raw QUIC
// clients over a simulated network (internal/sim) in a testing/synctest
// bubble: every deadline below is virtual time, exact and instant.

const simCluster = "limits"

// simEpoch is where synctest's clock starts; certificates are issued for
// it once per process.
var simEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	simPKIOnce sync.Once
	simNode    pki.Material
	simClient  pki.Material
	simPKIErr  error
)

func simPKI(t *testing.T) (node, client pki.Material) {
	t.Helper()
	simPKIOnce.Do(func() {
		ca, err := pki.NewCA("limits test", simEpoch)
		if err != nil {
			simPKIErr = err
			return
		}
		issue := func(role pki.Role, id string) pki.Material {
			leaf, err := ca.Issue(role, id, nil, simEpoch)
			if err != nil {
				simPKIErr = err
				return pki.Material{}
			}
			cert, err := leaf.TLS()
			if err != nil {
				simPKIErr = err
			}
			return pki.Material{CA: x509Pool(ca), Cert: cert}
		}
		simNode, simClient = issue(pki.RoleNode, "n1"), issue(pki.RoleClient, "c")
	})
	if simPKIErr != nil {
		t.Fatal(simPKIErr)
	}
	return simNode, simClient
}

// bigHandler answers a Get for key "big:N" with an N-byte value and any
// other key with the key itself.
type bigHandler struct{}

func (bigHandler) Handle(_ context.Context, _ wire.Peer, _ wire.Type, body []byte) (any, error) {
	var req wire.Get
	if err := wire.Decode(body, &req); err != nil {
		return nil, err
	}
	v := req.Key
	var n int
	if _, err := fmt.Sscanf(string(req.Key), "big:%d", &n); err == nil {
		v = make([]byte, n)
	}
	var s dvv.Set
	s, _ = s.Update(dvv.Actor{Node: "n1", Epoch: 1}, nil, v, false)
	return &wire.GetOK{Found: true, Object: s}, nil
}

// simWorld is a network with one serving endpoint at 127.0.0.1:7070.
type simWorld struct {
	t      *testing.T
	net    *sim.Network
	server *wire.Endpoint
	addr   string
	logs   *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newSimWorld starts a server configured by tweak, inside the bubble.
func newSimWorld(t *testing.T, tweak func(*wire.EndpointConfig)) *simWorld {
	t.Helper()
	node, _ := simPKI(t)
	w := &simWorld{t: t, net: sim.NewNetwork(rand.New(rand.NewPCG(1, 2)), sim.Link{Latency: time.Millisecond}),
		addr: "127.0.0.1:7070", logs: &syncBuffer{}}
	cfg := wire.EndpointConfig{
		PacketConn: w.net.Listen(w.addr), TLS: node, ClusterID: simCluster, Handler: bigHandler{},
		Inline: func(t wire.Type) bool { return t == wire.TypeGet }, // as storaged does
		Logger: slog.New(slog.NewTextHandler(w.logs, nil)),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := wire.NewEndpoint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.server = srv
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return w
}

// rawClient is a hostile peer: a QUIC transport of its own, speaking
// envelopes by hand.
type rawClient struct {
	t  *testing.T
	tr *quic.Transport
}

func (w *simWorld) raw(addr string) *rawClient {
	tr := &quic.Transport{Conn: w.net.Listen(addr)}
	w.t.Cleanup(func() { tr.Close() })
	return &rawClient{t: w.t, tr: tr}
}

// dial connects (TLS done, nothing sent).
func (r *rawClient) dial(server string) (*quic.Conn, error) {
	_, client := simPKI(r.t)
	ua, _ := net.ResolveUDPAddr("udp", server)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.tr.Dial(ctx, ua, pki.ClientConfig(client, wire.ALPN, ""),
		&quic.Config{KeepAlivePeriod: time.Second, MaxIdleTimeout: time.Hour, MaxIncomingStreams: -1})
}

// envelope is request id and a frame of msg.
func envelope(t *testing.T, id uint64, typ wire.Type, msg any) []byte {
	t.Helper()
	body, err := wire.Encode(msg)
	if err != nil {
		t.Fatal(err)
	}
	return wire.AppendFrame(binary.BigEndian.AppendUint64(nil, id), typ, body)
}

// hello dials and says hello on the first stream, which it returns.
func (r *rawClient) hello(server string) (*quic.Conn, *quic.Stream) {
	r.t.Helper()
	c, err := r.dial(server)
	if err != nil {
		r.t.Fatalf("dial: %v", err)
	}
	s, err := c.OpenStream()
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := s.Write(envelope(r.t, 1, wire.TypeHello, &wire.Hello{Version: wire.ProtocolVersion, ClusterID: simCluster})); err != nil {
		r.t.Fatal(err)
	}
	var idb [8]byte
	if _, err := io.ReadFull(s, idb[:]); err != nil {
		r.t.Fatalf("hello answer: %v", err)
	}
	if typ, body, err := wire.ReadFrame(s, 0); err != nil || typ != wire.TypeHelloOK {
		r.t.Fatalf("hello answered %v %q %v", typ, body, err)
	}
	return c, s
}

// closedWith returns the application code c was closed with, or -1 if it is
// open.
func closedWith(c *quic.Conn) int64 {
	if c.Context().Err() == nil {
		return -1
	}
	var ae *quic.ApplicationError
	if errors.As(context.Cause(c.Context()), &ae) {
		return int64(ae.ErrorCode)
	}
	return -2
}

// benign makes an ordinary client at addr and checks it is served.
func (w *simWorld) benign(addr string) *wire.Endpoint {
	w.t.Helper()
	_, client := simPKI(w.t)
	ep, err := wire.NewEndpoint(wire.EndpointConfig{PacketConn: w.net.Listen(addr), TLS: client, ClusterID: simCluster,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { ep.Close() })
	return ep
}

func (w *simWorld) served(ep *wire.Endpoint, what string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var resp wire.GetOK
	if err := ep.Call(ctx, w.addr, "n1", &wire.Get{Key: []byte("benign")}, &resp); err != nil {
		w.t.Fatalf("%s: benign get: %v", what, err)
	}
}

// inBubble runs f as subtest name in a synctest bubble.
func inBubble(t *testing.T, name string, f func(t *testing.T)) {
	t.Run(name, func(t *testing.T) { synctest.Test(t, f) })
}

const (
	codeBudget  = 4
	codeSlow    = 5
	codeNoHello = 2
)

// A peer that asks for large answers and never reads them is held to its
// share (the node accounts what it queues), then cut; a benign client is
// served meanwhile. Negative control: with unbounded budgets the accounted
// bytes grow far past the share.
func TestLimitsUnreadAnswers(t *testing.T) {
	for _, c := range []struct {
		name    string
		tweak   func(*wire.EndpointConfig)
		bounded bool
	}{
		{"default budget", nil, true},
		{"no budget (control)", func(c *wire.EndpointConfig) {
			c.MemoryTotal, c.MemoryPerConn, c.BudgetStall = 1<<40, 1<<40, time.Hour
		}, false},
	} {
		inBubble(t, c.name, func(t *testing.T) {
			w := newSimWorld(t, c.tweak)
			conn, s := w.raw("127.0.1.1:7070").hello(w.addr)
			var reqs []byte
			for i := range 200 {
				reqs = append(reqs, envelope(t, uint64(i+2), wire.TypeGet, &wire.Get{Key: []byte("big:1000000")})...)
			}
			if _, err := s.Write(reqs); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Second)
			mid := w.server.Stats()
			w.served(w.benign("127.0.1.2:7070"), "during the attack")
			time.Sleep(15 * time.Second)
			st := w.server.Stats()
			t.Logf("after 3s: %d bytes held; after 18s: %+v", mid.MemoryUsed, st)
			const share = 32 << 20
			if !c.bounded {
				if st.MemoryPeak <= share*2 {
					t.Fatalf("control: peak %d bytes, want well over the %d-byte share", st.MemoryPeak, share)
				}
				if code := closedWith(conn); code != -1 {
					t.Fatalf("control: connection closed (code %d), want open", code)
				}
				return
			}
			// One answer may overshoot the share (it is charged once in
			// memory), never more.
			if limit := int64(share + 2<<20); st.MemoryPeak > limit {
				t.Errorf("peak %d bytes, over the share plus one answer (%d)", st.MemoryPeak, limit)
			}
			if code := closedWith(conn); code != codeBudget {
				t.Errorf("connection closed with %d, want the budget code %d", code, codeBudget)
			}
			if st.CutBudget != 1 || st.MemoryUsed != 0 {
				t.Errorf("cut for budget %d times with %d bytes still held, want once and 0", st.CutBudget, st.MemoryUsed)
			}
			if n := strings.Count(w.logs.String(), "cut a connection: memory budget"); n != 1 {
				t.Errorf("logged the cut %d times, want once:\n%s", n, w.logs)
			}
			w.served(w.benign("127.0.1.3:7070"), "after the attack")
		})
	}
}

// A frame that begins and stalls is cut at its deadline, and its bytes are
// released. Negative control: without a deadline it holds them.
func TestLimitsStalledFrame(t *testing.T) {
	for _, c := range []struct {
		name string
		to   time.Duration
		cut  bool
	}{{"deadline", time.Second, true}, {"no deadline (control)", time.Hour, false}} {
		inBubble(t, c.name, func(t *testing.T) {
			w := newSimWorld(t, func(cfg *wire.EndpointConfig) {
				cfg.FrameTimeout, cfg.FrameMinRate = c.to, 1<<20 // 8 MiB: 1s + 8s
			})
			conn, s := w.raw("127.0.1.1:7070").hello(w.addr)
			hdr := binary.BigEndian.AppendUint64(nil, 2)
			hdr = binary.BigEndian.AppendUint32(hdr, 8<<20)
			if _, err := s.Write(append(append(hdr, byte(wire.TypeGet)), make([]byte, 1<<20)...)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Second)
			if st := w.server.Stats(); st.MemoryUsed < 8<<20 || closedWith(conn) != -1 {
				t.Fatalf("at 5s: %d bytes held, connection code %d; want the 8 MiB frame held, open", st.MemoryUsed, closedWith(conn))
			}
			time.Sleep(6 * time.Second)
			st := w.server.Stats()
			if !c.cut {
				if closedWith(conn) != -1 || st.MemoryUsed < 8<<20 {
					t.Fatalf("control at 11s: code %d, %d bytes held; want open and held", closedWith(conn), st.MemoryUsed)
				}
				return
			}
			if code := closedWith(conn); code != codeSlow {
				t.Fatalf("at 11s: connection code %d, want %d (frame deadline)", code, codeSlow)
			}
			if st.CutFrameDeadline != 1 || st.MemoryUsed != 0 {
				t.Fatalf("cut %d times, %d bytes held; want 1 and 0", st.CutFrameDeadline, st.MemoryUsed)
			}
			w.served(w.benign("127.0.1.2:7070"), "after the cut")
		})
	}
}

// A connection that completes TLS and opens no stream is closed at the
// hello deadline. Negative control: with a long deadline it stays.
func TestLimitsNoHello(t *testing.T) {
	for _, c := range []struct {
		name string
		to   time.Duration
		cut  bool
	}{{"deadline", 0, true}, {"long deadline (control)", time.Hour, false}} {
		inBubble(t, c.name, func(t *testing.T) {
			w := newSimWorld(t, func(cfg *wire.EndpointConfig) { cfg.HelloTimeout = c.to })
			conn, err := w.raw("127.0.1.1:7070").dial(w.addr)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(4 * time.Second)
			if code := closedWith(conn); code != -1 {
				t.Fatalf("closed (code %d) at 4s, before the 5s default hello deadline", code)
			}
			time.Sleep(2 * time.Second)
			code, st := closedWith(conn), w.server.Stats()
			if !c.cut {
				if code != -1 || st.ConnsOpen != 1 {
					t.Fatalf("control at 6s: code %d, %d open; want open", code, st.ConnsOpen)
				}
				return
			}
			if code != codeNoHello || st.CutNoHello != 1 || st.ConnsOpen != 0 {
				t.Fatalf("at 6s: code %d, %d cut, %d open; want code %d, 1 cut, 0 open", code, st.CutNoHello, st.ConnsOpen, codeNoHello)
			}
		})
	}
}

// A peer cannot open more than MaxStreams streams at once. Negative
// control: a large limit lets it.
func TestLimitsStreamFlood(t *testing.T) {
	for _, c := range []struct {
		name  string
		max   int64
		wantN int
	}{{"default", 0, 16}, {"large limit (control)", 1000, 100}} {
		inBubble(t, c.name, func(t *testing.T) {
			w := newSimWorld(t, func(cfg *wire.EndpointConfig) { cfg.MaxStreams = c.max })
			conn, _ := w.raw("127.0.1.1:7070").hello(w.addr)
			opened := 1 // the hello lane
			for range 99 {
				s, err := conn.OpenStream()
				if err != nil {
					var lim *quic.StreamLimitReachedError
					if !errors.As(err, &lim) {
						t.Fatalf("open: %v", err)
					}
					break
				}
				s.Write([]byte{0}) // the first byte of an envelope: the stream is live
				opened++
			}
			if opened != c.wantN {
				t.Fatalf("opened %d streams, want %d", opened, c.wantN)
			}
			w.served(w.benign("127.0.1.2:7070"), "with a flooded connection")
		})
	}
}

// Connections from one address are refused over MaxConnsPerSource and over
// the handshake rate, counted, and logged once; a client from another
// address is served. Negative control: large limits admit them all.
// Refusals count connection attempts' Initial packets (a client may send
// more than one before it hears the refusal), so they are at least the
// dials that failed.
func TestLimitsConnectionFlood(t *testing.T) {
	for _, c := range []struct {
		name                   string
		perSource, rate, burst int
		minOK, maxOK           int
		bySource, byRate       bool
	}{
		{"per source", 64, 1000, 1000, 64, 64, true, false},
		// 20/s, burst 40; refused clients retry their Initials, and more
		// tokens come meanwhile.
		{"handshake rate", 1000, 20, 40, 40, 41, false, true},
		{"large limits (control)", 1000, 1000, 1000, 80, 80, false, false},
	} {
		inBubble(t, c.name, func(t *testing.T) {
			w := newSimWorld(t, func(cfg *wire.EndpointConfig) {
				cfg.MaxConnsPerSource, cfg.HandshakeRate, cfg.HandshakeBurst = c.perSource, float64(c.rate), c.burst
				cfg.RetryAbove = 1 << 20 // measured on its own below
			})
			r := w.raw("127.0.1.1:7070")
			start := time.Now()
			var mu sync.Mutex
			ok := 0
			var wg sync.WaitGroup
			var conns []*quic.Conn
			for i := range 80 {
				if i%16 == 0 { // in batches: quic-go refuses past its accept queue (32)
					wg.Wait()
				}
				wg.Go(func() {
					c, err := r.dial(w.addr)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						conns = append(conns, c)
					} else if !strings.Contains(err.Error(), "CONNECTION_REFUSED") {
						t.Logf("dial: %v", err)
					}
				})
			}
			wg.Wait()
			time.Sleep(time.Second) // the server closes what it did not admit
			for _, c := range conns {
				if c.Context().Err() == nil {
					ok++
				}
			}
			st := w.server.Stats()
			elapsed := time.Since(start) - time.Second
			t.Logf("%d connected in %v; %+v", ok, elapsed, st)
			failed := uint64(80 - ok)
			maxOK := c.maxOK
			if c.byRate { // the burst, then the rate while attempts went on
				maxOK += int(20 * elapsed.Seconds())
			}
			if ok < c.minOK || ok > maxOK {
				t.Errorf("%d connected, want %d..%d", ok, c.minOK, maxOK)
			}
			for _, r := range []struct {
				name string
				n    uint64
				want bool
			}{{"per source", st.RefusedPerSource, c.bySource}, {"by rate", st.RefusedRate, c.byRate}} {
				if r.want && r.n < failed || !r.want && r.n != 0 {
					t.Errorf("refused %d %s with %d dials failed (want refusals: %v)", r.n, r.name, failed, r.want)
				}
			}
			want := 0
			if c.bySource || c.byRate {
				want = 1
			}
			if n := strings.Count(w.logs.String(), "refused a connection"); n != want {
				t.Errorf("logged %d refusals, want %d (once per reason and source):\n%s", n, want, w.logs)
			}
			w.served(w.benign("127.0.1.2:7070"), "during the flood")
		})
	}
}

// Above RetryAbove handshakes under way, new attempts go through a Retry
// and still connect. Negative control: a high threshold sends none.
func TestLimitsRetry(t *testing.T) {
	for _, c := range []struct {
		name  string
		above int
		retry bool
	}{{"low threshold", 1, true}, {"high threshold (control)", 1 << 20, false}} {
		inBubble(t, c.name, func(t *testing.T) {
			w := newSimWorld(t, func(cfg *wire.EndpointConfig) { cfg.RetryAbove = c.above })
			r := w.raw("127.0.1.1:7070")
			var wg sync.WaitGroup
			errs := make(chan error, 10)
			for range 10 {
				wg.Go(func() {
					if _, err := r.dial(w.addr); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("dial: %v", err)
			}
			if st := w.server.Stats(); (st.Retries > 0) != c.retry {
				t.Fatalf("%d retries, want some: %v", st.Retries, c.retry)
			}
		})
	}
}
