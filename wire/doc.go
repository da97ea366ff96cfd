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
// Requests travel on lanes: a connection carries a small pool of long-lived
// bidirectional QUIC streams, and every request or answer on a lane is an
// envelope, an 8-byte request id followed by one frame. Each lane has one
// writer goroutine that joins queued envelopes into one write and one reader
// that pairs answers with waiting callers by id, so answers come back in the
// order they are ready. wire/transportbench measured this at 1.7-2x the round
// trips of one stream per request (64 callers, loopback), and a pool of four
// lanes keeps small requests from queueing behind a 1 MiB one. A request the
// server cannot frame is answered under its id and ends only its lane.
package wire
