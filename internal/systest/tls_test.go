package systest

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/pki"
)

// Admission: who may connect, and what each certificate role may ask
// (DESIGN.md §4: mutual TLS against one cluster CA, node and client roles,
// node-to-node requests refuse client certificates, a protocol version and a
// cluster id checked when a connection opens).

// tlsEndpoint is a dial-only wire endpoint with m, closed in t.Cleanup.
func tlsEndpoint(t *testing.T, m pki.Material, clusterID string) *wire.Endpoint {
	t.Helper()
	ep, err := wire.NewEndpoint(wire.EndpointConfig{
		Addr:      "127.0.0.1:0",
		TLS:       m,
		ClusterID: clusterID,
		Logger:    inprocLogger(),
	})
	if err != nil {
		t.Fatalf("new endpoint: %v", err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

// tlsCall calls the node through ep with a deadline.
func tlsCall(ep *wire.Endpoint, addr, wantNode string, req, resp any) error {
	ctx, cancel := context.WithTimeout(context.Background(), inprocTimeout)
	defer cancel()
	return ep.Call(ctx, addr, wantNode, req, resp)
}

// tlsObject is a valid one-sibling object written by actor node.
func tlsObject(node, value string) dvv.Set {
	s, _ := dvv.Set{}.Update(dvv.Actor{Node: node, Epoch: 7}, nil, []byte(value), false)
	return s
}

// TLS alerts (RFC 8446 §6) a node sends when it refuses a client
// certificate it was offered; QUIC carries them as crypto errors 0x100+alert.
const (
	tlsAlertBadCertificate = 42
	tlsAlertUnknownCA      = 48
)

// tlsWantCertRefused checks that err is the node refusing, during the
// handshake, a client certificate it was offered: a TLS alert, not an answer
// to a request, and not a complaint that no certificate came.
func tlsWantCertRefused(t *testing.T, what string, err error) {
	t.Helper()
	var re *wire.RemoteError
	if errors.As(err, &re) {
		t.Fatalf("%s failed with an answer from the node (%v); the connection itself must be refused", what, err)
	}
	var te *quic.TransportError
	if !errors.As(err, &te) || !te.Remote || !te.ErrorCode.IsCryptoError() {
		t.Fatalf("%s refused with %v, want a TLS alert from the node", what, err)
	}
	if a := te.ErrorCode - 0x100; a != tlsAlertBadCertificate && a != tlsAlertUnknownCA {
		t.Fatalf("%s refused with TLS alert %d (%v), want bad certificate or unknown ca", what, a, err)
	}
}

// TestTLSClientFromAnotherCARefused: a client certificate signed by another
// CA is refused by the node, through the driver and over a raw connection,
// and the node keeps serving.
func TestTLSClientFromAnotherCARefused(t *testing.T) {
	n := inprocStart(t)
	// The impostor CA has the cluster CA's name, so that TLS clients offer
	// its certificates to the node (they skip certificates whose issuer is
	// not among the names the server asks for), and the node's verification
	// of the signature is what must refuse them.
	other := inprocCA(t, "systest ca")
	foreign := inprocMaterial(t, other, pki.RoleClient, "tester")
	// Trust the cluster CA, so that only the node's check of the client
	// certificate can fail.
	foreign.CA = inprocPool(n.CA)

	ctx, cancel := context.WithTimeout(context.Background(), inprocTimeout)
	defer cancel()
	cl, err := driver.Open(ctx, driver.Config{
		Seeds: []string{n.Addr}, ClusterID: n.ClusterID, TLS: foreign,
		LocalAddr: "127.0.0.1:0", N: 1, R: 1, W: 1, Timeout: 5 * time.Second,
		Logger: inprocLogger(),
	})
	if err == nil {
		cl.Close()
		t.Fatal("driver.Open with a client certificate from another ca succeeded")
	}
	tlsWantCertRefused(t, "driver.Open", err)

	r, err := inprocDial(t, n.Addr, foreign, n.ID)
	if err == nil {
		// TLS 1.3: the client finishes its handshake before the server has
		// judged the client certificate; the refusal arrives as a close.
		var typ wire.Type
		typ, _, err = r.Exchange(inprocHelloFrame(t, wire.ProtocolVersion, n.ClusterID))
		if err == nil {
			t.Fatalf("raw connection with a foreign client certificate got a %s answer to hello", typ)
		}
	}
	tlsWantCertRefused(t, "raw connection", err)
	n.assertServes(t)
}

// TestTLSNodeFromAnotherCARefused: the client side refuses a node whose
// certificate another CA signed.
func TestTLSNodeFromAnotherCARefused(t *testing.T) {
	n := inprocStart(t)
	other := inprocCA(t, "another ca")
	m := n.Client
	m.CA = inprocPool(other) // a client that trusts only the other CA
	_, err := inprocDial(t, n.Addr, m, "")
	if err == nil || !strings.Contains(err.Error(), "not from the cluster ca") {
		t.Fatalf("dial a node of another ca: err = %v, want a refusal naming the cluster ca", err)
	}
	n.assertServes(t)
}

// TestTLSClientCannotHandoff: handoff is node-to-node. A client certificate
// gets CodeForbidden and changes nothing, as does a node certificate for an
// id that is not a member; a member's node certificate from the same CA is
// served.
func TestTLSClientCannotHandoff(t *testing.T) {
	n := inprocStart(t)
	key := []byte("handed-off")
	obj := tlsObject("n2", "from n2")
	req := &wire.Handoff{Key: key, Object: obj}

	client := tlsEndpoint(t, n.Client, n.ClusterID)
	err := tlsCall(client, n.Addr, n.ID, req, &wire.Ack{})
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.CodeForbidden || !errors.Is(err, wire.ErrForbidden) {
		t.Fatalf("handoff with a client certificate: err = %v, want a remote %s", err, wire.CodeForbidden)
	}
	for _, m := range []string{"handoff requests are node-to-node", `"tester"`, "client certificate"} {
		if !strings.Contains(re.Message, m) {
			t.Errorf("forbidden message %q does not mention %q", re.Message, m)
		}
	}
	var got wire.GetOK
	if err := tlsCall(client, n.Addr, n.ID, &wire.Get{Key: key}, &got); err != nil {
		t.Fatalf("get after refused handoff: %v", err)
	}
	if got.Found {
		t.Fatalf("a refused handoff stored %v", got.Object)
	}

	// The same over a raw connection: the refusal comes from the role, not
	// from anything wire's client side does.
	raw := n.rawConn(t, n.Client)
	raw.wantError(t, inprocFrame(t, wire.TypeHandoff, req), wire.CodeForbidden, "node-to-node")

	// A node certificate is not enough: its id must be a member (the
	// cluster here is n1 alone).
	stranger := tlsEndpoint(t, inprocMaterial(t, n.CA, pki.RoleNode, "n2"), n.ClusterID)
	if err := tlsCall(stranger, n.Addr, n.ID, req, &wire.Ack{}); !errors.Is(err, wire.ErrForbidden) || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("handoff with a non-member's node certificate: %v, want forbidden, not a member", err)
	}
	node := tlsEndpoint(t, inprocMaterial(t, n.CA, pki.RoleNode, n.ID), n.ClusterID)
	if err := tlsCall(node, n.Addr, n.ID, req, &wire.Ack{}); err != nil {
		t.Fatalf("handoff with a member's node certificate: %v", err)
	}
	if err := tlsCall(client, n.Addr, n.ID, &wire.Get{Key: key}, &got); err != nil {
		t.Fatalf("get after handoff: %v", err)
	}
	if !got.Found || !got.Object.Equal(obj) {
		t.Fatalf("after handoff the node holds found=%v %v, want %v", got.Found, got.Object, obj)
	}
	n.assertServes(t)
}

// TestTLSWrongNodeRefused: a caller that expects node n9 refuses the node
// at the address when it proves to be n1, at the wire endpoint and at TLS.
func TestTLSWrongNodeRefused(t *testing.T) {
	n := inprocStart(t)
	ep := tlsEndpoint(t, n.Client, n.ClusterID)
	var ringOK wire.RingOK
	err := tlsCall(ep, n.Addr, "n9", &wire.RingReq{}, &ringOK)
	var ce *wire.CallError
	if !errors.As(err, &ce) || ce.Op != "dial" {
		t.Fatalf("call expecting n9: err = %v, want a dial *wire.CallError", err)
	}
	if !strings.Contains(err.Error(), `"n9"`) || !strings.Contains(err.Error(), `"n1"`) {
		t.Errorf("error %q does not name both the wanted and the actual node", err)
	}
	if ringOK.Ring != nil {
		t.Fatal("a refused call filled in its answer")
	}
	// The endpoint still talks to n1 when asked for n1.
	if err := tlsCall(ep, n.Addr, n.ID, &wire.RingReq{}, &ringOK); err != nil || ringOK.Ring == nil {
		t.Fatalf("call expecting n1: err = %v, ring %v", err, ringOK.Ring)
	}

	_, err = inprocDial(t, n.Addr, n.Client, "n9")
	if err == nil || !strings.Contains(err.Error(), `want "n9"`) {
		t.Fatalf("raw dial expecting n9: err = %v, want a TLS refusal naming n9", err)
	}
	n.assertServes(t)
}

// tlsWantClosed waits for the node to close r's connection and checks the
// application error code it closed with and that its reason mentions every
// one of mentions.
func tlsWantClosed(t *testing.T, r *inprocRaw, code quic.ApplicationErrorCode, mentions ...string) {
	t.Helper()
	select {
	case <-r.Conn.Context().Done():
	case <-time.After(inprocTimeout):
		t.Fatalf("the node did not close the connection within %v", inprocTimeout)
	}
	var ae *quic.ApplicationError
	cause := context.Cause(r.Conn.Context())
	if !errors.As(cause, &ae) || !ae.Remote || ae.ErrorCode != code {
		t.Fatalf("connection closed with %v, want a remote application error %d", cause, code)
	}
	for _, m := range mentions {
		if !strings.Contains(ae.ErrorMessage, m) {
			t.Errorf("close reason %q does not mention %q", ae.ErrorMessage, m)
		}
	}
	if _, _, err := r.Exchange(inprocFrame(t, wire.TypeStatus, &wire.StatusReq{})); err == nil {
		t.Fatal("a request on the closed connection was answered")
	}
}

// tlsRefusal is a first request the node must refuse, closing the
// connection.
type tlsRefusal struct {
	name     string
	raw      []byte
	code     wire.Code                 // the error answer's code
	close    quic.ApplicationErrorCode // the connection close code
	mentions []string                  // in the answer and the close reason
}

func tlsRefusals(t *testing.T) []tlsRefusal {
	return []tlsRefusal{{
		name:     "wrong cluster id",
		raw:      inprocHelloFrame(t, wire.ProtocolVersion, "another-cluster"),
		code:     wire.CodeMismatch,
		close:    1,
		mentions: []string{`cluster "another-cluster"`, `cluster "` + inprocClusterID + `"`},
	}, {
		name:     "wrong protocol version",
		raw:      inprocHelloFrame(t, wire.ProtocolVersion+1, inprocClusterID),
		code:     wire.CodeMismatch,
		close:    1,
		mentions: []string{"protocol 2", "speaks 1"},
	}, {
		name:     "request before hello",
		raw:      inprocFrame(t, wire.TypeStatus, &wire.StatusReq{}),
		code:     wire.CodeNoHello,
		close:    2,
		mentions: []string{"must be hello", "got status"},
	}}
}

// TestTLSHelloRefused: a first request that is not a matching hello (wrong
// cluster id, wrong protocol version, not a hello at all) is answered with
// CodeMismatch or CodeNoHello saying what was wrong, the node then closes the
// connection with the same reason, and wire's client reports a mismatch as
// wire.ErrMismatch.
func TestTLSHelloRefused(t *testing.T) {
	n := inprocStart(t)
	for _, c := range tlsRefusals(t) {
		t.Run(c.name, func(t *testing.T) {
			r, err := inprocDial(t, n.Addr, n.Client, n.ID)
			if err != nil {
				t.Fatal(err)
			}
			r.wantError(t, c.raw, c.code, c.mentions...)
			tlsWantClosed(t, r, c.close, c.mentions...)
			n.assertServes(t)
		})
	}
	ep := tlsEndpoint(t, n.Client, "another-cluster")
	err := tlsCall(ep, n.Addr, n.ID, &wire.StatusReq{}, &wire.StatusOK{})
	var re *wire.RemoteError
	if !errors.Is(err, wire.ErrMismatch) || !errors.As(err, &re) || !strings.Contains(re.Message, `cluster "another-cluster"`) {
		t.Fatalf("endpoint of another cluster: err = %v, want wire.ErrMismatch naming its cluster", err)
	}
}

// tlsNopHandler answers nothing; it only makes an endpoint a server.
type tlsNopHandler struct{}

func (tlsNopHandler) Handle(context.Context, wire.Peer, wire.Type, []byte) (any, error) {
	return &wire.Ack{}, nil
}

// TestTLSServerNeedsNodeCertificate: storaged refuses to start with a client
// certificate, or with a node certificate of another id, before it binds
// anything or opens its data directory; a wire server refuses a client
// certificate too.
func TestTLSServerNeedsNodeCertificate(t *testing.T) {
	ca := inprocCA(t, "systest ca")
	for _, c := range []struct {
		name string
		m    pki.Material
		want string
	}{
		{"client certificate", inprocMaterial(t, ca, pki.RoleClient, "n1"), `certificate is for client "n1", want node "n1"`},
		{"node certificate of another node", inprocMaterial(t, ca, pki.RoleNode, "n2"), `certificate is for node "n2", want node "n1"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := inprocFreeAddr(t)
			dir := filepath.Join(t.TempDir(), "n1")
			srv, err := storaged.New(storaged.Config{
				ID:             "n1",
				DataDir:        dir,
				ClusterID:      inprocClusterID,
				InitialCluster: []ring.Node{{ID: "n1", Addr: addr}},
				TLS:            c.m,
				Logger:         inprocLogger(),
			})
			if err == nil {
				srv.Close()
				t.Fatal("storaged.New accepted the certificate")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("storaged.New: %v, want it to say %s", err, c.want)
			}
			// Nothing was bound.
			ua, _ := net.ResolveUDPAddr("udp", addr)
			udp, err := net.ListenUDP("udp", ua)
			if err != nil {
				t.Fatalf("refused node still holds %s: %v", addr, err)
			}
			udp.Close()
		})
	}

	// Validate reports every problem at once, the certificate among them.
	_, err := storaged.New(storaged.Config{
		ID:             "n1",
		InitialCluster: []ring.Node{{ID: "n1", Addr: inprocFreeAddr(t)}},
		TLS:            inprocMaterial(t, ca, pki.RoleClient, "n1"),
	})
	if err == nil || !strings.Contains(err.Error(), "data directory is required") || !strings.Contains(err.Error(), "certificate is for client") {
		t.Fatalf("storaged.New with two problems: %v, want both reported", err)
	}

	_, err = wire.NewEndpoint(wire.EndpointConfig{
		Addr: "127.0.0.1:0", ClusterID: inprocClusterID,
		TLS: inprocMaterial(t, ca, pki.RoleClient, "tester"), Handler: tlsNopHandler{},
	})
	if err == nil || !strings.Contains(err.Error(), "serving needs a node certificate") {
		t.Fatalf("wire server with a client certificate: err = %v", err)
	}
}
