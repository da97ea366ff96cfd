// Package hostile is the hostile-input suite of issue 9: each class of
// attack (unread answers, stalled partial frames, idle connections, stream
// floods, slowloris, handshake floods, oversized and over-cap relays,
// same-dot rewrites, forged own-actor counters, non-member node
// certificates, a damaged data file) runs against real storaged processes
// (internal/testcluster) from a hand-made QUIC client, for a few seconds.
// Each asserts the node's peak resident memory (VmHWM from /proc) stays under
// a fixed bound, that a benign driver client is served meanwhile, and that
// refused writes change nothing stored.
//
// It holds only tests and their support; nothing may import it. The suite
// needs Linux (/proc) and the go tool (to build storaged); it skips with a
// message without them, and under -short.
package hostile
