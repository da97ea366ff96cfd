package hostile

import (
	"context"
	"crypto/x509"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// Negative controls of the hang-up checkers (waitClosed, trickle) against
// an in-process QUIC listener that behaves as told: it must tell a peer
// that hangs up from one that keeps a connection or stream forever.

// testListener serves QUIC on 127.0.0.1 with a node certificate "n1" and
// hands every accepted connection to serve; it returns the address and the
// client material.
func testListener(t *testing.T, serve func(*quic.Conn)) (string, pki.Material) {
	t.Helper()
	ca, err := pki.NewCA("hostile test ca", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	material := func(role pki.Role, id string) pki.Material {
		leaf, err := ca.Issue(role, id, []string{"127.0.0.1"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cert, err := leaf.TLS()
		if err != nil {
			t.Fatal(err)
		}
		return pki.Material{CA: pool, Cert: cert}
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(pki.ServerConfig(material(pki.RoleNode, "n1"), wire.ALPN), &quic.Config{KeepAlivePeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		tr.Close()
		udp.Close()
	})
	return udp.LocalAddr().String(), material(pki.RoleClient, "tester")
}

func TestWaitClosedTellsHangUpFromKeep(t *testing.T) {
	var n atomic.Int64
	addr, m := testListener(t, func(c *quic.Conn) {
		if n.Add(1)%2 == 1 {
			c.CloseWithError(0, "hello deadline") // every other connection is hung up at once
		}
	})
	var rs []*raw
	for range 4 {
		r, err := dialRaw(context.Background(), "127.0.0.1", addr, tlsFor(m, "n1"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		rs = append(rs, r)
	}
	if open := waitClosed(rs, 2*time.Second); open != 2 {
		t.Fatalf("waitClosed = %d still open, want 2 (the ones the listener kept)", open)
	}
}

func TestTrickleTellsEndFromKeep(t *testing.T) {
	for _, c := range []struct {
		name  string
		serve func(*quic.Stream)
		ended bool
	}{
		{"kept", func(*quic.Stream) {}, false},
		{"reset", func(s *quic.Stream) { time.Sleep(1500 * time.Millisecond); s.CancelRead(1); s.CancelWrite(1) }, true},
		{"answered", func(s *quic.Stream) { time.Sleep(1500 * time.Millisecond); s.Write([]byte("refused")); s.Close() }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, m := testListener(t, func(conn *quic.Conn) {
				s, err := conn.AcceptStream(context.Background())
				if err == nil {
					c.serve(s)
				}
			})
			r, err := dialRaw(context.Background(), "127.0.0.1", addr, tlsFor(m, "n1"))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			st, err := r.Conn.OpenStreamSync(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			st.Write([]byte{0}) // the listener sees the stream
			var sent atomic.Int64
			if got := trickle(context.Background(), st, 100, 3*time.Second, &sent); got != c.ended {
				t.Fatalf("trickle = %v after %d bytes, want %v", got, sent.Load(), c.ended)
			}
		})
	}
}
