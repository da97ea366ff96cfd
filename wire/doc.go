// Package wire defines what crosses the network between the Shoal driver and
// storage daemons, and between daemons: message types, length-prefixed frames,
// the msgpack codec with its limits, and the QUIC endpoint both sides use.
//
// A frame is a 4-byte big-endian length L, then L bytes: one message type byte
// followed by a msgpack body. L is checked against a hard cap before anything is
// read, the body is read in chunks so memory grows only with bytes that actually
// arrive, and the body passes a bounded non-recursive structural check
// (package mpcheck) before the msgpack decoder ever sees it. Decoders of
// variable-length structures (version vectors, siblings, rings, batches) check
// counts against caps before allocating.
//
// Requests use one QUIC stream each: the caller opens a bidirectional stream,
// writes one request frame, closes its send side and reads one response frame.
// Opening a stream costs no round trip, and streams give per-request flow
// control and cancellation for free (see docs/BENCHMARKS.md for the
// measurement against a single multiplexed stream).
package wire
