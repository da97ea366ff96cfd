package transportbench

import (
	"bytes"
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// transport is one way of carrying requests over a dialed connection.
// call is safe for concurrent use; close ends everything the transport
// started (not the connection).
type transport interface {
	call(ctx context.Context, payload []byte) ([]byte, error)
	close() error
}

// callers is how many goroutines issue calls concurrently in the parallel
// benchmarks.
const callers = 64

// respSize is the answer body in every benchmark.
const respSize = 100

var sizes = []struct {
	name string
	n    int
}{
	{"100B", 100},
	{"4KiB", 4 << 10},
}

// design names a server and the matching caller side.
type design struct {
	serve func(handler) serveConn
	open  func(*client) (transport, error)
}

var (
	streamPerRequest = design{serveStreams, newStreamTransport}
	multiplexed1     = design{serveMux(coalesce), newMuxTransport(1, coalesce)}
	multiplexed4     = design{serveMux(coalesce), newMuxTransport(4, coalesce)}
	multiplexed1Lock = design{serveMux(locked), newMuxTransport(1, locked)}
)

// BenchmarkRawRoundTrip measures one request/answer over one QUIC connection
// with mutual TLS 1.3 on loopback, with no codec and no storage behind it.
func BenchmarkRawRoundTrip(b *testing.B) {
	for _, s := range sizes {
		b.Run("stream-per-request/req="+s.name, func(b *testing.B) { benchParallel(b, streamPerRequest, s.n) })
	}
	for _, n := range []struct {
		name string
		d    design
	}{{"streams=1", multiplexed1}, {"streams=4", multiplexed4}, {"streams=1/writes=locked", multiplexed1Lock}} {
		for _, s := range sizes {
			b.Run("multiplexed-stream/"+n.name+"/req="+s.name, func(b *testing.B) { benchParallel(b, n.d, s.n) })
		}
	}
	for _, s := range sizes {
		b.Run("serial/req="+s.name, func(b *testing.B) { benchSerial(b, streamPerRequest, s.n) })
	}
	for _, s := range sizes {
		b.Run("serial-multiplexed/req="+s.name, func(b *testing.B) { benchSerial(b, multiplexed1, s.n) })
	}
}

// rig is a running server, a dialed client and a transport over it.
type rig struct {
	srv *server
	cli *client
	tr  transport
}

func startRig(tb testing.TB, d design, h handler, srvEm, cliEm netem) *rig {
	tb.Helper()
	srv, err := newServer(d.serve(h), srvEm)
	if err != nil {
		tb.Fatal(err)
	}
	cli, err := dial(srv.addr(), cliEm)
	if err != nil {
		srv.close()
		tb.Fatal(err)
	}
	tr, err := d.open(cli)
	if err != nil {
		cli.close()
		srv.close()
		tb.Fatal(err)
	}
	return &rig{srv: srv, cli: cli, tr: tr}
}

// stop ends the transport, the connection and the server, joining every
// goroutine they started.
func (r *rig) stop(tb testing.TB) {
	tb.Helper()
	if err := r.tr.close(); err != nil {
		tb.Error("transport close:", err)
	}
	if err := r.cli.close(); err != nil {
		tb.Error("client close:", err)
	}
	if err := r.srv.close(); err != nil {
		tb.Error("server close:", err)
	}
}

// warm runs a few calls so the handshake's aftermath (first stream credit,
// congestion window) is not in the measurement.
func (r *rig) warm(tb testing.TB, payload []byte) {
	tb.Helper()
	for range 64 {
		if _, err := r.tr.call(context.Background(), payload); err != nil {
			tb.Fatal("warm-up:", err)
		}
	}
}

func request(n int) []byte { return bytes.Repeat([]byte{'q'}, n) }

func benchParallel(b *testing.B, d design, reqSize int) {
	payload := request(reqSize)
	r := startRig(b, d, constant(request(respSize)), nil, nil)
	defer r.stop(b)
	r.warm(b, payload)
	runCallers(b, r, payload).report(b)
}

// runCallers runs b.N calls of payload from 64 goroutines, with the timer
// running only around them, and returns their latencies.
func runCallers(b *testing.B, r *rig, payload []byte) *latencies {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((callers + procs - 1) / procs)
	lat := &latencies{}
	var started atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		started.Add(1)
		own := make([]time.Duration, 0, b.N/callers+16)
		defer func() { lat.add(own) }()
		for pb.Next() {
			t0 := time.Now()
			resp, err := r.tr.call(ctx, payload)
			own = append(own, time.Since(t0))
			if err != nil {
				b.Error(err)
				return
			}
			if len(resp) != respSize {
				b.Errorf("answer of %d bytes, want %d", len(resp), respSize)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(started.Load()), "callers")
	return lat
}

func benchSerial(b *testing.B, d design, reqSize int) {
	payload := request(reqSize)
	r := startRig(b, d, constant(request(respSize)), nil, nil)
	defer r.stop(b)
	r.warm(b, payload)
	ctx := context.Background()
	lat := latencies{all: make([]time.Duration, 0, b.N)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		resp, err := r.tr.call(ctx, payload)
		lat.all = append(lat.all, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		if len(resp) != respSize {
			b.Fatalf("answer of %d bytes, want %d", len(resp), respSize)
		}
	}
	b.StopTimer()
	lat.report(b)
	b.ReportMetric(1, "callers")
}
