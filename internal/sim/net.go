package sim

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go/testutils/simnet"
)

// Link is how the network treats packets between two hosts: a latency, a
// uniform jitter on top (which reorders packets), and the chances that a
// packet is dropped or delivered twice.
type Link struct {
	Latency, Jitter time.Duration
	Drop, Dup       float64
}

// Network is a simulated UDP network between hosts (IP addresses), a
// simnet.Router for quic-go's simnet connections. Every packet's fate is
// drawn from one seeded generator; delivery happens on timers, so under
// testing/synctest it runs in virtual time. A host can be cut off from
// others (partitions), paused (its packets, both ways, are held until it
// resumes: what its peers see of a stopped process), or detached (a
// crashed process: its packets vanish). Safe for concurrent use.
type Network struct {
	mu     sync.Mutex
	rng    *rand.Rand
	link   Link
	conns  map[string]simnet.PacketReceiver // by "ip:port"
	cut    map[[2]string]int                // directed host pairs that drop everything, by cuts in force
	paused map[string]*held                 // paused hosts
	slow   map[string]hostDelay             // slowed hosts (slow.go)
	stats  NetStats
}

// NetStats counts packets by fate.
type NetStats struct {
	Sent, Delivered, Dropped, Duplicated, Held uint64
}

// NewNetwork returns a network whose links all behave as l, drawing from
// rng (which it then owns).
func NewNetwork(rng *rand.Rand, l Link) *Network {
	return &Network{rng: rng, link: l, conns: make(map[string]simnet.PacketReceiver),
		cut: make(map[[2]string]int), paused: make(map[string]*held)}
}

// Listen attaches a new connection at addr ("ip:port"), replacing any
// earlier one there (a restarted process binding its address again).
func (n *Network) Listen(addr string) *simnet.SimConn {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		panic("sim: bad address " + addr) // addresses are the simulator's own
	}
	return simnet.NewBlockingSimConn(ua, n)
}

// AddNode implements simnet.Router.
func (n *Network) AddNode(addr net.Addr, r simnet.PacketReceiver) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.conns[addr.String()] = r
}

// Detach removes the connection at addr: packets to and from it vanish,
// as for a process that died. Listen attaches a new one.
func (n *Network) Detach(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.conns, addr)
}

// held is a paused host: how many pauses hold it, and its packets.
type held struct {
	pauses  int
	packets []simnet.Packet
}

// Cut drops every packet between the hosts of a and those of b, both ways,
// until Uncut is called with the same groups. Cuts nest.
func (n *Network) Cut(a, b []string) { n.cutBy(a, b, 1) }

// Uncut takes back one Cut(a, b).
func (n *Network) Uncut(a, b []string) { n.cutBy(a, b, -1) }

func (n *Network) cutBy(a, b []string, d int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			for _, k := range [2][2]string{{x, y}, {y, x}} {
				if n.cut[k] += d; n.cut[k] <= 0 {
					delete(n.cut, k)
				}
			}
		}
	}
}

// Pause holds host's packets, both ways, until as many Resumes. Pauses
// nest.
func (n *Network) Pause(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.paused[host]
	if h == nil {
		h = &held{}
		n.paused[host] = h
	}
	h.pauses++
}

// Resume takes back one Pause; the last sends the packets held for host on
// their way, each with a fresh delay.
func (n *Network) Resume(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.paused[host]
	if h == nil {
		return
	}
	if h.pauses--; h.pauses > 0 {
		return
	}
	delete(n.paused, host)
	for _, p := range h.packets {
		n.routeLocked(p)
	}
}

// SetLink changes how every link behaves from now on.
func (n *Network) SetLink(l Link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.link = l
}

// Stats returns the packet counters.
func (n *Network) Stats() NetStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// SendPacket implements simnet.Router: it decides the packet's fate now
// and delivers it, if at all, after its delay.
func (n *Network) SendPacket(p simnet.Packet) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stats.Sent++
	if _, ok := n.conns[p.From.String()]; !ok {
		n.stats.Dropped++ // the sender was detached: a dead process sends nothing
		return nil
	}
	n.routeLocked(p)
	return nil
}

func (n *Network) routeLocked(p simnet.Packet) {
	from, to := host(p.From), host(p.To)
	if n.cut[[2]string{from, to}] > 0 {
		n.stats.Dropped++
		return
	}
	for _, h := range [2]string{from, to} {
		if hp := n.paused[h]; hp != nil {
			hp.packets = append(hp.packets, p)
			n.stats.Held++
			return
		}
	}
	if n.link.Drop > 0 && n.rng.Float64() < n.link.Drop {
		n.stats.Dropped++
		return
	}
	copies := 1
	if n.link.Dup > 0 && n.rng.Float64() < n.link.Dup {
		copies = 2
		n.stats.Duplicated++
	}
	for range copies {
		d := n.link.Latency
		if n.link.Jitter > 0 {
			d += time.Duration(n.rng.Int64N(int64(n.link.Jitter)))
		}
		d += n.hostDelayLocked(from, to)
		time.AfterFunc(d, func() { n.deliver(p) })
	}
}

// deliver hands p to the connection at its address now, if there is one
// (a packet to a dead process is lost).
func (n *Network) deliver(p simnet.Packet) {
	n.mu.Lock()
	r, ok := n.conns[p.To.String()]
	if ok {
		n.stats.Delivered++
	} else {
		n.stats.Dropped++
	}
	n.mu.Unlock()
	if ok {
		r.RecvPacket(p)
	}
}

func host(a net.Addr) string {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.IP.String()
	}
	h, _, _ := net.SplitHostPort(a.String())
	return h
}
