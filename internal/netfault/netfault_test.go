package netfault

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// endpoint is a UDP socket on its own loopback address.
type endpoint struct {
	ip   string
	conn *net.UDPConn
}

// octet picks a 127.0.X.0/24 that testcluster never uses (it takes X in
// 2..251), so these rules cannot cut a cluster another package is running.
func octet() int { return 252 + rand.IntN(3) }

func listen(t *testing.T, ip string) endpoint {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("bind %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	return endpoint{ip, conn}
}

// passes sends one fresh datagram from a to b and reports whether it
// arrives within a short wait. Older datagrams still queued are skipped.
func passes(t *testing.T, from, to endpoint) bool {
	t.Helper()
	msg := fmt.Appendf(nil, "%s->%s %d", from.ip, to.ip, rand.Uint64())
	if _, err := from.conn.WriteToUDP(msg, to.conn.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatalf("send %s -> %s: %v (a drop must be silent, not a send error)", from.ip, to.ip, err)
	}
	buf := make([]byte, 128)
	deadline := time.Now().Add(300 * time.Millisecond)
	for {
		to.conn.SetReadDeadline(deadline)
		n, _, err := to.conn.ReadFromUDP(buf)
		if errors.Is(err, net.ErrClosed) {
			t.Fatal(err)
		}
		if err != nil {
			return false
		}
		if bytes.Equal(buf[:n], msg) {
			return true
		}
	}
}

func expect(t *testing.T, from, to endpoint, want bool) {
	t.Helper()
	if got := passes(t, from, to); got != want {
		t.Errorf("%s -> %s: delivered %v, want %v", from.ip, to.ip, got, want)
	}
}

func TestPartitionBlocksBothWaysAndHealRestores(t *testing.T) {
	n := New(t)
	x := octet()
	a := listen(t, fmt.Sprintf("127.0.%d.1", x))
	b := listen(t, fmt.Sprintf("127.0.%d.2", x))
	c := listen(t, fmt.Sprintf("127.0.%d.3", x))

	expect(t, a, b, true)
	expect(t, b, a, true)

	if err := n.Partition([]string{a.ip, c.ip}, []string{b.ip}); err != nil {
		t.Fatal(err)
	}
	expect(t, a, b, false)
	expect(t, b, a, false)
	expect(t, c, b, false)
	expect(t, a, c, true) // same side
	expect(t, c, a, true)

	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	expect(t, a, b, true)
	expect(t, b, a, true)
	expect(t, c, b, true)
	if rules, err := n.Rules(); err != nil || len(rules) != 0 {
		t.Fatalf("after Heal: rules %q, err %v", rules, err)
	}

	// A new partition replaces the old one rather than adding to it.
	if err := n.Partition([]string{a.ip}, []string{b.ip}); err != nil {
		t.Fatal(err)
	}
	if err := n.Isolate(c.ip, []string{a.ip, b.ip}); err != nil {
		t.Fatal(err)
	}
	expect(t, a, b, true)
	expect(t, c, a, false)
	expect(t, b, c, false)
	rules, err := n.Rules()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 4 {
		t.Errorf("Isolate of one address from two: rules %q, want 4", rules)
	}

	// Bad groups change nothing.
	if err := n.Partition([]string{a.ip}, []string{a.ip}); !errors.Is(err, ErrBadGroups) {
		t.Fatalf("overlapping groups: err %v", err)
	}
	expect(t, c, a, false)
}

func iptablesListing(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-S").Output()
	if err != nil {
		t.Fatalf("iptables -S: %v", err)
	}
	return string(out)
}

func TestCleanupRemovesChainAndJump(t *testing.T) {
	var chain string
	t.Run("partitioned", func(t *testing.T) {
		n := New(t)
		chain = n.Chain()
		if len(chain) > 28 {
			t.Errorf("chain name %q is longer than iptables' 28", chain)
		}
		x := octet()
		if err := n.Partition([]string{fmt.Sprintf("127.0.%d.1", x)}, []string{fmt.Sprintf("127.0.%d.2", x)}); err != nil {
			t.Fatal(err)
		}
		if l := iptablesListing(t); !strings.Contains(l, "-A "+hook+" -j "+chain+"\n") {
			t.Fatalf("no jump to %s in:\n%s", chain, l)
		}
	})
	if chain == "" {
		t.Skip("the subtest skipped")
	}
	if l := iptablesListing(t); strings.Contains(l, chain) {
		t.Fatalf("after cleanup, iptables -S still names %s:\n%s", chain, l)
	}
}

func TestNewRemovesStaleChains(t *testing.T) {
	if preflight() != nil {
		New(t) // skips with the reason
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-%08x", chainPrefix, dead.ProcessState.Pid(), rand.Uint32())
	// Ours is alive; were this test killed, a later New would remove it.
	live := fmt.Sprintf("%s%d-%08x", chainPrefix, os.Getpid(), rand.Uint32())
	for _, c := range []string{stale, live} {
		if _, err := iptables("-N", c); err != nil {
			t.Fatal(err)
		}
		if _, err := iptables("-A", hook, "-j", c); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := remove(live); err != nil {
			t.Error(err)
		}
	})
	n := New(t)
	l := iptablesListing(t)
	if strings.Contains(l, stale) {
		t.Errorf("stale chain %s of dead pid %d survived New:\n%s", stale, dead.ProcessState.Pid(), l)
	}
	if !strings.Contains(l, "-N "+live+"\n") || !strings.Contains(l, "-N "+n.Chain()+"\n") {
		t.Errorf("New removed a live process's chain or lacks its own:\n%s", l)
	}
}

// skipRecorder is a testing.TB whose Skip records its message and ends the
// goroutine, as the real one does.
type skipRecorder struct {
	testing.TB
	msg string
}

func (s *skipRecorder) Helper() {}

func (s *skipRecorder) Skip(args ...any) {
	s.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func TestNewSkipsWithoutIptables(t *testing.T) {
	old := iptablesPath
	iptablesPath = "/nonexistent/iptables"
	t.Cleanup(func() { iptablesPath = old })
	rec := &skipRecorder{TB: t}
	done := make(chan *Net)
	go func() {
		var n *Net
		defer func() { done <- n }()
		n = New(rec)
	}()
	if n := <-done; n != nil {
		t.Fatalf("New returned %v without iptables", n)
	}
	for _, w := range []string{"root", "apt-get install -y iptables"} {
		if !strings.Contains(rec.msg, w) {
			t.Errorf("skip message %q does not say %q", rec.msg, w)
		}
	}
}
