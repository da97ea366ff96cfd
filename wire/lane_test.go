package wire_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/pki"
)

// echoHandler answers a Get with an object whose single value is the key,
// after a delay the key may ask for ("slow:" keys wait 300ms, others a random
// sub-millisecond), so answers come back out of order.
type echoHandler struct{}

func (echoHandler) Handle(ctx context.Context, _ wire.Peer, t wire.Type, body []byte) (any, error) {
	var req wire.Get
	if err := wire.Decode(body, &req); err != nil {
		return nil, err
	}
	d := time.Duration(rand.IntN(1000)) * time.Microsecond
	if len(req.Key) > 5 && string(req.Key[:5]) == "slow:" {
		d = 300 * time.Millisecond
	}
	time.Sleep(d)
	var s dvv.Set
	s, _ = s.Update(dvv.Actor{Node: "n1", Epoch: 1}, nil, req.Key, false)
	return &wire.GetOK{Found: true, Object: s}, nil
}

func laneEndpoints(t *testing.T) (server, client *wire.Endpoint) {
	t.Helper()
	ca, err := pki.NewCA("lane test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mat := func(role pki.Role, id string) pki.Material {
		leaf, err := ca.Issue(role, id, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cert, err := leaf.TLS()
		if err != nil {
			t.Fatal(err)
		}
		pool := x509Pool(ca)
		return pki.Material{CA: pool, Cert: cert}
	}
	server, err = wire.NewEndpoint(wire.EndpointConfig{Addr: "127.0.0.1:0", TLS: mat(pki.RoleNode, "n1"), ClusterID: "lane", Handler: echoHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	client, err = wire.NewEndpoint(wire.EndpointConfig{Addr: "127.0.0.1:0", TLS: mat(pki.RoleClient, "c"), ClusterID: "lane"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx) }()
	t.Cleanup(func() {
		client.Close()
		cancel()
		server.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return server, client
}

func TestLanesPairAnswersWithTheirRequests(t *testing.T) {
	server, client := laneEndpoints(t)
	addr := server.Addr().(*net.UDPAddr).String()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 64 {
		wg.Go(func() {
			for i := range 50 {
				key := fmt.Sprintf("k-%d-%d", w, i)
				var resp wire.GetOK
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := client.Call(ctx, addr, "n1", &wire.Get{Key: []byte(key)}, &resp)
				cancel()
				if err != nil {
					errs <- err
					return
				}
				if v := resp.Object.Values(); len(v) != 1 || string(v[0]) != key {
					errs <- fmt.Errorf("request %s got the answer for %q", key, v)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestLaneCancelledCallDoesNotBlockOthers(t *testing.T) {
	server, client := laneEndpoints(t)
	addr := server.Addr().(*net.UDPAddr).String()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := client.Call(ctx, addr, "n1", &wire.Get{Key: []byte("slow:1")}, &wire.GetOK{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow call: %v, want DeadlineExceeded", err)
	}
	// The late answer to the abandoned request must be dropped, and every
	// lane must keep serving.
	for i := range 20 {
		var resp wire.GetOK
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := client.Call(ctx, addr, "n1", &wire.Get{Key: []byte(fmt.Sprint("fast", i))}, &resp)
		cancel()
		if err != nil {
			t.Fatalf("call %d after a cancelled one: %v", i, err)
		}
		if v := resp.Object.Values(); len(v) != 1 || string(v[0]) != fmt.Sprint("fast", i) {
			t.Fatalf("call %d got %q", i, v)
		}
	}
}

func x509Pool(ca *pki.CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// A server closing while a live client still holds a connection to it must
// hang that connection up and return, not wait on the client's open lanes.
func TestServerCloseWithLivePeerReturns(t *testing.T) {
	server, client := laneEndpoints(t)
	addr := server.Addr().(*net.UDPAddr).String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var resp wire.GetOK
	if err := client.Call(ctx, addr, "n1", &wire.Get{Key: []byte("k")}, &resp); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- server.Close() }()
	select {
	case <-closed:
	case <-time.After(15 * time.Second):
		t.Fatal("server Close still waiting 15s after it began, with the client's connection open")
	}
	// The client learns the connection is gone rather than waiting on it.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := client.Call(ctx2, addr, "n1", &wire.Get{Key: []byte("k")}, &resp); err == nil {
		t.Fatal("call to a closed server succeeded")
	}
}

// Redial drops the cached connection; the next call dials afresh and works.
func TestRedialThenCallSucceeds(t *testing.T) {
	server, client := laneEndpoints(t)
	addr := server.Addr().(*net.UDPAddr).String()
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var resp wire.GetOK
		err := client.Call(ctx, addr, "n1", &wire.Get{Key: []byte("after-redial")}, &resp)
		cancel()
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if v := resp.Object.Values(); len(v) != 1 || string(v[0]) != "after-redial" {
			t.Fatalf("call %d: got %q", i, v)
		}
		client.Redial(addr)
	}
}
