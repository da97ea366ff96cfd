// Package transportbench measures how the wire package should carry requests
// over one QUIC connection. It holds benchmarks only: every helper lives in a
// _test.go file, so nothing here is linked into a binary.
//
// Two designs are compared over loopback with real QUIC (quic-go) and real
// TLS 1.3 with mutual authentication (certificates from wire/pki, ALPN
// wire.ALPN):
//
//   - stream-per-request, what package wire does today: the caller opens a
//     bidirectional stream, writes one frame (wire.AppendFrame), closes its
//     send side and reads one frame (wire.ReadFrame); the server reads the
//     frame, checks that the stream ends there, answers and closes.
//   - multiplexed-stream: one (or a small fixed pool of) long-lived
//     bidirectional streams carrying frames whose body starts with an 8-byte
//     request id. Callers hand frames to one coalescing writer goroutine per
//     stream; one reader goroutine per stream routes answers to waiting
//     callers by id. The server reads frames in order, answers each from its
//     own worker goroutine, and serialises the answers through its own
//     writer, so answers may come back out of order.
//
// No msgpack and no storage are involved: BenchmarkRawRoundTrip is also the
// raw QUIC round-trip baseline the store's own benchmarks are compared with.
// Besides ns/op it reports p50-ns and p99-ns (per-call latency), ops/s and the
// number of concurrent callers. RESULTS.md records a run and its conclusion.
//
// Run with:
//
//	go test -run '^$' -bench . -benchtime=20000x -count=3 ./wire/transportbench/
package transportbench
