package testcluster

import (
	"fmt"
	"net"
	"net/netip"
)

// firstClientHost is the last octet of client 0's address: nodes take .1 to
// .n, clients .100 and up, so the two never meet for clusters of up to 99
// nodes.
const firstClientHost = 100

// NodeIP is node i's IP address (127.0.K.(i+1)), without the port.
func (c *Cluster) NodeIP(i int) string {
	host, _, err := net.SplitHostPort(c.Nodes[i].Addr)
	if err != nil {
		panic(fmt.Sprintf("testcluster: node %d address %q: %v", i, c.Nodes[i].Addr, err))
	}
	return host
}

// NodeIPs lists every node's IP address, in node order; the caller owns
// the slice.
func (c *Cluster) NodeIPs() []string {
	ips := make([]string, len(c.Nodes))
	for i := range c.Nodes {
		ips[i] = c.NodeIP(i)
	}
	return ips
}

// ClientIP is a loopback address for test client i, 0 <= i < 155, in the
// nodes' 127.0.K.0/24 but distinct from every node's: 127.0.K.(100+i).
// A client that binds it (driver.Config.LocalAddr = ClientIP(i)+":0") is
// one address on the network, so a partition can cut it off from some
// nodes (internal/netfault). Linux routes all of 127.0.0.0/8 to the
// loopback interface, so the address needs no set-up. It panics on an
// index out of range, a broken test.
func (c *Cluster) ClientIP(i int) string {
	if i < 0 || firstClientHost+i > 254 {
		panic(fmt.Sprintf("testcluster: client index %d out of range [0, %d)", i, 255-firstClientHost))
	}
	a := netip.MustParseAddr(c.NodeIP(0)).As4()
	a[3] = byte(firstClientHost + i)
	return netip.AddrFrom4(a).String()
}
