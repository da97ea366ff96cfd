package wire_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// benchHandler answers every request at once with a small object.
type benchHandler struct{ resp wire.GetOK }

func (h *benchHandler) Handle(context.Context, wire.Peer, wire.Type, []byte) (any, error) {
	return &h.resp, nil
}

// BenchmarkEndpointCall measures small calls through wire.Endpoint on
// loopback, 64 callers on one connection: the request path's cost,
// accounting and deadlines included.
func BenchmarkEndpointCall(b *testing.B) {
	ca, err := pki.NewCA("bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	mat := func(role pki.Role, id string) pki.Material {
		leaf, _ := ca.Issue(role, id, nil, time.Now())
		cert, _ := leaf.TLS()
		return pki.Material{CA: x509Pool(ca), Cert: cert}
	}
	srv, err := wire.NewEndpoint(wire.EndpointConfig{Addr: "127.0.0.1:0", TLS: mat(pki.RoleNode, "n1"), ClusterID: "b", Handler: &benchHandler{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Serve(ctx)
	defer func() { cancel(); srv.Close() }()
	cli, err := wire.NewEndpoint(wire.EndpointConfig{Addr: "127.0.0.1:0", TLS: mat(pki.RoleClient, "c"), ClusterID: "b"})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	addr := srv.Addr().(*net.UDPAddr).String()
	req := &wire.Get{Key: []byte("key")}
	b.SetParallelism(32) // 64 callers on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var resp wire.GetOK
			if err := cli.Call(context.Background(), addr, "n1", req, &resp); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
