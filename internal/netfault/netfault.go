// Package netfault cuts the network between loopback addresses with
// iptables, for system tests that run real processes on 127.0.x.y (one
// address per node, see internal/testcluster): partitions drop UDP (QUIC)
// between groups of addresses and heal on demand.
//
// Each Net owns one iptables chain in the filter table, named
// SHOAL-<pid>-<random>, hooked by a jump at the top of INPUT. The chain is
// removed in t.Cleanup even when the test failed, and New removes chains
// that dead test processes left behind. Nothing outside the chain and its
// one jump is touched.
//
// Why INPUT and not OUTPUT: loopback packets traverse both, but a packet
// dropped in OUTPUT fails the sender's sendmsg with EPERM, and quic-go
// closes a connection whose send fails, so an OUTPUT drop looks like a
// local error, not like a network partition. Dropped in INPUT, the packet
// leaves the sender normally and silently never arrives, as across a real
// partition: peers learn of it only from timeouts.
//
// It needs root and iptables (apt-get install -y iptables); New skips the
// test otherwise. Only tests may import it.
package netfault

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// hook is the built-in chain whose first rule jumps to a Net's chain.
const hook = "INPUT"

// chainPrefix starts the name of every chain this package makes.
const chainPrefix = "SHOAL-"

// Net is one test's set of partition rules. Its methods are safe for
// concurrent use and may be called from any goroutine: they report failures
// as errors, never through the testing.TB (which may only stop the test from
// the test's own goroutine). A Net is made by New; it has no useful zero
// value.
type Net struct {
	chain string
	mu    sync.Mutex // serialises rule changes, so a Partition is never interleaved with another
}

// New makes a chain for t and hooks it into INPUT; t.Cleanup removes both.
// It first removes SHOAL- chains whose process is no longer alive. It skips
// t when not running as root or when iptables is missing or unusable, and
// fails t when iptables works but the chain cannot be made. Call it from the
// test's goroutine.
func New(t testing.TB) *Net {
	t.Helper()
	if err := preflight(); err != nil {
		t.Skip(err)
		return nil // only reached with a testing.TB whose Skip returns
	}
	for _, err := range removeStale() {
		t.Logf("netfault: removing a stale chain: %v", err)
	}
	n := &Net{chain: fmt.Sprintf("%s%d-%08x", chainPrefix, os.Getpid(), rand.Uint32())}
	if _, err := iptables("-N", n.chain); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := remove(n.chain); err != nil {
			t.Errorf("netfault: cleanup: %v", err)
		}
	})
	if _, err := iptables("-I", hook, "1", "-j", n.chain); err != nil {
		t.Fatal(err)
	}
	return n
}

// preflight says why iptables cannot be used here, or nil.
func preflight() error {
	const need = "netfault: partition tests need root and iptables (e.g. apt-get install -y iptables)"
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s; running as uid %d", need, os.Geteuid())
	}
	if _, err := exec.LookPath(iptablesPath); err != nil {
		return fmt.Errorf("%s; %v", need, err)
	}
	if _, err := iptables("-S", hook); err != nil {
		return fmt.Errorf("%s; iptables is not usable: %v", need, err)
	}
	return nil
}

// Chain is the name of the iptables chain this Net owns.
func (n *Net) Chain() string { return n.chain }

// Partition replaces the current rules with ones that drop UDP both ways
// between every pair of addresses in different groups; addresses in one
// group, and addresses in no group, keep talking. Addresses are IPv4
// literals, each in at most one group (else an error wrapping ErrBadGroups
// and no change). The old rules are flushed before the new ones go in, so
// for the few milliseconds in between nothing is dropped. On an iptables
// error the chain may hold part of the partition; Heal clears it.
func (n *Net) Partition(groups ...[]string) error {
	rules, err := dropRules(n.chain, groups)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := iptables("-F", n.chain); err != nil {
		return err
	}
	for _, r := range rules {
		if _, err := iptables(r...); err != nil {
			return err
		}
	}
	return nil
}

// Isolate cuts ip off from others: Partition([]string{ip}, others).
func (n *Net) Isolate(ip string, others []string) error {
	return n.Partition([]string{ip}, others)
}

// Heal removes every rule: all addresses talk again.
func (n *Net) Heal() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err := iptables("-F", n.chain)
	return err
}

// Rules lists the chain's current rules as iptables -S prints them (one
// rule per source and destination pair), for logs and tests.
func (n *Net) Rules() ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out, err := iptables("-S", n.chain)
	if err != nil {
		return nil, err
	}
	var rules []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-A ") {
			rules = append(rules, l)
		}
	}
	return rules, nil
}
