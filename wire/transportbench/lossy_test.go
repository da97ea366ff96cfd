package transportbench

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
)

// lossyConn drops each datagram it sends with probability rate, once armed,
// to show how the designs behave when QUIC has to recover lost packets. The
// drops come from a seeded generator. It hides the *net.UDPConn's optional
// interfaces, so quic-go uses its plain send path (no GSO, ECN or batching);
// compare designs under loss with each other, not with the loss-free runs.
type lossyConn struct {
	net.PacketConn
	udp     *net.UDPConn
	rate    float64
	armed   atomic.Bool
	dropped atomic.Int64

	mu  sync.Mutex
	rng *rand.Rand
}

func lossy(rate float64, seed uint64, out **lossyConn) netem {
	return func(udp *net.UDPConn) net.PacketConn {
		c := &lossyConn{PacketConn: udp, udp: udp, rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
		*out = c
		return c
	}
}

// SetReadBuffer and SetWriteBuffer let quic-go size the socket buffers as it
// does for a plain socket.
func (c *lossyConn) SetReadBuffer(n int) error  { return c.udp.SetReadBuffer(n) }
func (c *lossyConn) SetWriteBuffer(n int) error { return c.udp.SetWriteBuffer(n) }

func (c *lossyConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.armed.Load() {
		c.mu.Lock()
		drop := c.rng.Float64() < c.rate
		c.mu.Unlock()
		if drop {
			c.dropped.Add(1)
			return len(p), nil
		}
	}
	return c.PacketConn.WriteTo(p, addr)
}
