package systest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// The tests in this file's siblings (hostile_test.go, tls_test.go) run one
// storaged in this test process: real QUIC on 127.0.0.1, real bbolt in a
// temporary directory, certificates from a per-test CA. Running in-process
// lets them count the server's allocations (runtime.MemStats) and would turn
// a stack overflow in the server into a failure of the test binary itself.

// inprocTimeout bounds every network step of these tests. It is a deadline
// that turns a hang into a failure, never a performance assertion.
const inprocTimeout = 20 * time.Second

// inprocClusterID is the cluster id of every in-process node.
const inprocClusterID = "systest-inproc"

// inprocNode is one running storaged and the CA that certified it.
type inprocNode struct {
	ID        string
	Addr      string
	ClusterID string
	CA        *pki.CA
	Node      pki.Material // the node's own certificate ("n1")
	Client    pki.Material // a client certificate from the same CA
	Server    *storaged.Server
}

// inprocLogger discards the node's logs: the tests assert on answers, and a
// logger writing to t after the test ends would panic.
func inprocLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// inprocFreeAddr returns 127.0.0.1:port with a UDP port that was free a
// moment ago.
func inprocFreeAddr(t testing.TB) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("bind a free udp port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// inprocMaterial issues a certificate for role and id from ca.
func inprocMaterial(t testing.TB, ca *pki.CA, role pki.Role, id string) pki.Material {
	t.Helper()
	leaf, err := ca.Issue(role, id, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatalf("issue %s %s: %v", role, id, err)
	}
	cert, err := leaf.TLS()
	if err != nil {
		t.Fatalf("parse %s %s: %v", role, id, err)
	}
	return pki.Material{CA: inprocPool(ca), Cert: cert}
}

// inprocPool is a pool holding only ca.
func inprocPool(ca *pki.CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// inprocCA makes a fresh CA.
func inprocCA(t testing.TB, name string) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA(name, time.Now())
	if err != nil {
		t.Fatalf("new ca: %v", err)
	}
	return ca
}

// inprocStart starts node "n1" with a fresh CA and stops it in t.Cleanup,
// failing the test if Run returns an error.
func inprocStart(t *testing.T) *inprocNode {
	t.Helper()
	ca := inprocCA(t, "systest ca")
	n := &inprocNode{
		ID:        "n1",
		Addr:      inprocFreeAddr(t),
		ClusterID: inprocClusterID,
		CA:        ca,
		Node:      inprocMaterial(t, ca, pki.RoleNode, "n1"),
		Client:    inprocMaterial(t, ca, pki.RoleClient, "tester"),
	}
	srv, err := storaged.New(storaged.Config{
		ID:             ring.NodeID(n.ID),
		DataDir:        filepath.Join(t.TempDir(), "n1"),
		ClusterID:      n.ClusterID,
		InitialCluster: []ring.Node{{ID: ring.NodeID(n.ID), Addr: n.Addr}},
		TLS:            n.Node,
		Logger:         inprocLogger(),
	})
	if err != nil {
		t.Fatalf("storaged.New: %v", err)
	}
	n.Server = srv
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("storaged.Run: %v", err)
			}
		case <-time.After(inprocTimeout):
			t.Errorf("storaged.Run did not return within %v of its context ending", inprocTimeout)
		}
	})
	return n
}

// inprocRaw is a hand-made client connection: one UDP socket, one QUIC
// transport and one connection, with nothing of package wire's client side.
type inprocRaw struct {
	Conn *quic.Conn
	tr   *quic.Transport
	udp  *net.UDPConn
}

// Close closes the connection, the transport and the socket.
func (r *inprocRaw) Close() {
	r.Conn.CloseWithError(0, "test done")
	r.tr.Close()
	r.udp.Close()
}

// inprocDial opens a QUIC connection to addr with m, checking the server's
// identity as pki.ClientConfig does (wantNode may be empty). It does not say
// hello. The connection is closed in t.Cleanup.
func inprocDial(t testing.TB, addr string, m pki.Material, wantNode string) (*inprocRaw, error) {
	t.Helper()
	return inprocDialTLS(t, addr, pki.ClientConfig(m, wire.ALPN, wantNode))
}

func inprocDialTLS(t testing.TB, addr string, tc *tls.Config) (*inprocRaw, error) {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("bind client socket: %v", err)
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatalf("resolve %s: %v", addr, err)
	}
	tr := &quic.Transport{Conn: udp}
	ctx, cancel := context.WithTimeout(context.Background(), inprocTimeout)
	defer cancel()
	c, err := tr.Dial(ctx, ua, tc, &quic.Config{
		HandshakeIdleTimeout: inprocTimeout,
		MaxIdleTimeout:       inprocTimeout,
		KeepAlivePeriod:      2 * time.Second,
	})
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, err
	}
	r := &inprocRaw{Conn: c, tr: tr, udp: udp}
	t.Cleanup(r.Close)
	return r, nil
}

// inprocHelloFrame is the first frame of a connection, as wire/call.go sends
// it.
func inprocHelloFrame(t testing.TB, version uint32, clusterID string) []byte {
	t.Helper()
	return inprocFrame(t, wire.TypeHello, &wire.Hello{Version: version, ClusterID: clusterID})
}

// inprocFrame encodes msg and frames it as type typ.
func inprocFrame(t testing.TB, typ wire.Type, msg any) []byte {
	t.Helper()
	body, err := wire.Encode(msg)
	if err != nil {
		t.Fatalf("encode %T: %v", msg, err)
	}
	return wire.AppendFrame(nil, typ, body)
}

// rawConn dials the node with m and says a matching hello, failing the test
// if anything goes wrong.
func (n *inprocNode) rawConn(t testing.TB, m pki.Material) *inprocRaw {
	t.Helper()
	r, err := inprocDial(t, n.Addr, m, n.ID)
	if err != nil {
		t.Fatalf("dial %s: %v", n.Addr, err)
	}
	typ, body, err := r.Exchange(inprocHelloFrame(t, wire.ProtocolVersion, n.ClusterID))
	if err != nil {
		t.Fatalf("hello: %v", err)
	}
	var ok wire.HelloOK
	if typ != wire.TypeHelloOK {
		t.Fatalf("hello answered with %s: %s", typ, inprocDescribe(typ, body))
	}
	if err := wire.Decode(body, &ok); err != nil {
		t.Fatalf("decode hello-ok: %v", err)
	}
	if ok.Version != wire.ProtocolVersion || ok.ClusterID != n.ClusterID || ok.Node != ring.NodeID(n.ID) {
		t.Fatalf("hello-ok = %+v, want version %d, cluster %q, node %q", ok, wire.ProtocolVersion, n.ClusterID, n.ID)
	}
	return r
}

// inprocIDs numbers raw requests.
var inprocIDs atomic.Uint64

// Exchange opens a new stream (a lane carrying one request), writes a fresh
// request id followed by raw, closes the send side and reads one answer
// envelope, which must carry the same id. It also checks that the server
// sent nothing after it: every request gets exactly one answer.
func (r *inprocRaw) Exchange(raw []byte) (wire.Type, []byte, error) {
	id := inprocIDs.Add(1)
	raw = append(binary.BigEndian.AppendUint64(nil, id), raw...)
	ctx, cancel := context.WithTimeout(context.Background(), inprocTimeout)
	defer cancel()
	s, err := r.Conn.OpenStreamSync(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("open stream: %w", err)
	}
	s.SetDeadline(time.Now().Add(inprocTimeout))
	if _, err := s.Write(raw); err != nil {
		s.CancelRead(0)
		return 0, nil, fmt.Errorf("write: %w", err)
	}
	s.Close()
	var idb [8]byte
	if _, err := io.ReadFull(s, idb[:]); err != nil {
		s.CancelRead(0)
		return 0, nil, fmt.Errorf("read answer id: %w", err)
	}
	if got := binary.BigEndian.Uint64(idb[:]); got != id {
		s.CancelRead(0)
		return 0, nil, fmt.Errorf("answer carries request id %d, want %d", got, id)
	}
	typ, body, err := wire.ReadFrame(s, wire.MaxFrame)
	if err != nil {
		s.CancelRead(0)
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	var one [1]byte
	if n, err := io.ReadFull(s, one[:]); n != 0 || !errors.Is(err, io.EOF) {
		s.CancelRead(0)
		return typ, body, fmt.Errorf("answer %s followed by more bytes or an error: n=%d err=%v", typ, n, err)
	}
	return typ, body, nil
}

// inprocDescribe renders an answer for failure messages.
func inprocDescribe(typ wire.Type, body []byte) string {
	if typ == wire.TypeError {
		var e wire.Error
		if err := wire.Decode(body, &e); err == nil {
			return fmt.Sprintf("error %s: %q", e.Code, e.Message)
		}
	}
	return fmt.Sprintf("%s with %d-byte body", typ, len(body))
}

// wantError sends raw on a new stream and checks that the answer is an
// Error with code want whose message contains every one of mentions.
func (r *inprocRaw) wantError(t testing.TB, raw []byte, want wire.Code, mentions ...string) wire.Error {
	t.Helper()
	typ, body, err := r.Exchange(raw)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if typ != wire.TypeError {
		t.Fatalf("answer is %s, want an error %s", inprocDescribe(typ, body), want)
	}
	var e wire.Error
	if err := wire.Decode(body, &e); err != nil {
		t.Fatalf("decode error answer: %v", err)
	}
	if e.Code != want {
		t.Fatalf("answer code %s (%q), want %s", e.Code, e.Message, want)
	}
	for _, m := range mentions {
		if !strings.Contains(e.Message, m) {
			t.Errorf("answer message %q does not mention %q", e.Message, m)
		}
	}
	return e
}

// inprocSeq makes keys unique across serving checks.
var inprocSeq atomic.Uint64

// assertServes checks that the node still serves ordinary clients: a fresh
// driver can put and read back a value, and a fresh raw connection can say
// hello and read that value.
func (n *inprocNode) assertServes(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), inprocTimeout)
	defer cancel()
	cl, err := driver.Open(ctx, driver.Config{
		Seeds:     []string{n.Addr},
		ClusterID: n.ClusterID,
		TLS:       n.Client,
		LocalAddr: "127.0.0.1:0",
		N:         1, R: 1, W: 1,
		Logger: inprocLogger(),
	})
	if err != nil {
		t.Fatalf("node no longer serves: driver.Open: %v", err)
	}
	defer cl.Close()
	i := inprocSeq.Add(1)
	key := []byte(fmt.Sprintf("alive-%d", i))
	val := []byte(fmt.Sprintf("value-%d", i))
	if _, err := cl.Put(ctx, key, val, nil); err != nil {
		t.Fatalf("node no longer serves: put: %v", err)
	}
	got, err := cl.Get(ctx, key)
	if err != nil {
		t.Fatalf("node no longer serves: get: %v", err)
	}
	if len(got.Values) != 1 || !bytes.Equal(got.Values[0], val) {
		t.Fatalf("node no longer serves: get %q = %q, want [%q]", key, got.Values, val)
	}

	r := n.rawConn(t, n.Client)
	defer r.Close()
	typ, body, err := r.Exchange(inprocFrame(t, wire.TypeGet, &wire.Get{Key: key}))
	if err != nil {
		t.Fatalf("node no longer serves raw connections: %v", err)
	}
	var ok wire.GetOK
	if typ != wire.TypeGetOK {
		t.Fatalf("raw get answered %s", inprocDescribe(typ, body))
	}
	if err := wire.Decode(body, &ok); err != nil {
		t.Fatalf("decode get-ok: %v", err)
	}
	if vals := ok.Object.Values(); !ok.Found || len(vals) != 1 || !bytes.Equal(vals[0], val) {
		t.Fatalf("raw get %q = found %v %q, want [%q]", key, ok.Found, vals, val)
	}
}
