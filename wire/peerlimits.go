package wire

import "time"

// PeerLimits bound what the peers of a serving node may cost it: streams,
// requests and memory per connection, connections per source and in
// total, the handshake rate, and how long a hello or a frame may take. The
// zero value of each field means the documented default. Part of
// EndpointConfig; storaged takes it from its flags.
type PeerLimits struct {
	// MaxStreams is how many streams (lanes) a peer may have open at once
	// on one connection (default 16; the driver opens 4). QUIC enforces it:
	// a peer cannot open more until one ends.
	MaxStreams int64
	// MaxRequests is how many requests a peer may have in flight on one
	// connection, across its lanes (default 4096). A peer at the limit
	// waits: its lane readers stop.
	MaxRequests int64

	// MemoryTotal bounds the bytes a serving node holds for all its peers
	// (default 192 MiB, so that a node stays under 256 MiB of RSS with
	// its own working set): frames being received, requests being handled
	// (their bodies and a reserve for their answers) and answers waiting
	// to be written. MemoryPerConn is one connection's share of it
	// (default 32 MiB). A connection over its share, or a node over its
	// total, stops reading requests, so QUIC flow control slows the peer;
	// one request larger than a share is still served when the connection
	// holds nothing else. Bytes QUIC itself buffers are bounded by its
	// flow-control windows, which stop growing while the node is at its
	// total.
	MemoryTotal, MemoryPerConn int64
	// BudgetStall is how long a connection may stay over its share, with
	// its requests waiting because its answers are not read, before it is
	// cut off (default 10s).
	BudgetStall time.Duration

	// MaxConns bounds the connections a node accepts in total (default
	// 4096) and MaxConnsPerSource those from one IP address (default 64),
	// handshakes under way included. HandshakeRate is how many new
	// connections one IP address may start per second (default 50), with
	// bursts of HandshakeBurst (default 100: a test suite or a restarting
	// host dials in bursts; a flood beyond it is refused before it costs
	// a TLS handshake). Refusals happen on the first packet, before any
	// cryptography, and are counted in Stats.
	MaxConns, MaxConnsPerSource int
	HandshakeRate               float64
	HandshakeBurst              int
	// RetryAbove is how many handshakes may be under way before new
	// connection attempts must first prove their source address with a
	// QUIC Retry (RFC 9000 §8.1.2), which costs them a round trip and a
	// spoofed address the handshake (default 32).
	RetryAbove int
	// HelloTimeout is how long an accepted connection has to open its
	// first stream and send its hello (default 5s).
	HelloTimeout time.Duration
	// FrameTimeout and FrameMinRate bound a request once its first byte
	// arrived: the whole frame must arrive within FrameTimeout plus its
	// declared size at FrameMinRate bytes per second (defaults 10s and
	// 64 KiB/s: a full 16 MiB frame gets 266s), or the connection is cut.
	// Time spent waiting for the memory budget does not count.
	FrameTimeout time.Duration
	FrameMinRate int64
}
