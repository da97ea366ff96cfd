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
//     stream (or, in the writes=locked variant, write under a mutex); one
//     reader goroutine per stream routes answers to waiting callers by id.
//     The server reads frames in order, answers each from its own worker
//     goroutine, and serialises the answers through its own writer, so
//     answers may come back out of order.
//
// BenchmarkRawRoundTrip runs 64 concurrent callers (and a serial caller) with
// 100-byte and 4 KiB requests and 100-byte answers. No msgpack and no storage
// are involved, so it is also the raw QUIC round-trip baseline the store's own
// benchmarks are compared with. BenchmarkHeadOfLine shows the multiplexed
// design's weak spot: small calls sharing the connection with 1 MiB requests,
// or with 1% packet loss. Besides ns/op the benchmarks report p50-ns and
// p99-ns (per-call latency), ops/s and the number of concurrent callers.
// RESULTS.md records a run and its conclusion.
//
// Run with:
//
//	go test -run '^$' -bench . -benchtime=20000x -count=3 ./wire/transportbench/
package transportbench
