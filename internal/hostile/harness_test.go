package hostile

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire/pki"
)

// target is the index of the attacked node in every scenario.
const target = 0

// scenario is one attack class against a fresh three-node cluster: fresh,
// so that the node's VmHWM measures this class alone. The attacked node is
// node 0; the benign client runs from 127.0.0.1, the attackers from the
// cluster's client addresses (testcluster.ClientIP(1) and up), so that a
// per-source limit on the attackers does not touch the benign client.
type scenario struct {
	t     *testing.T
	class string
	c     *testcluster.Cluster
	cl    *driver.Client // the benign client; also used to set up keys
	pid   int

	// ctx ends when the attack must stop: the watchdog tripped, or finish.
	ctx    context.Context
	cancel context.CancelFunc
	dog    *watchdog
	load   *benignLoad
	begun  time.Time // when attack was called

	mu    sync.Mutex
	conns []*raw // the attacker's connections, closed by stopAttack
}

// begin starts the cluster and the benign client for class.
func begin(t *testing.T, class string) *scenario {
	t.Helper()
	needRealProcesses(t)
	c := testcluster.Start(t, testcluster.Options{NoSync: true})
	s := &scenario{t: t, class: class, c: c, pid: c.PID(target)}
	s.cl = c.Client(nil)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	t.Cleanup(s.stopAttack)
	return s
}

// attack starts the watchdog and the benign load: call it once the keys
// the attack needs are written.
func (s *scenario) attack() {
	s.t.Helper()
	if m, err := readMemory(s.pid); err == nil {
		s.t.Logf("%s: node %s before the attack: %v", s.class, s.node(), m)
	}
	s.begun = time.Now()
	s.dog = watch(s.pid, rssCeiling, s.stopAttack)
	s.load = startBenign(s.cl, len(s.c.Nodes))
}

// node is the attacked node's id.
func (s *scenario) node() ring.NodeID { return s.c.Nodes[target].ID }

// stopAttack hangs up every attacker connection and ends s.ctx; any
// goroutine may call it, more than once.
func (s *scenario) stopAttack() {
	s.cancel()
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, r := range conns {
		r.Close()
	}
}

// dialTimeout bounds one attacker handshake: a node that drops a flood's
// handshakes must not stall the test for a step timeout each.
const dialTimeout = 3 * time.Second

// attackerIP is the local IP of attacker address i (i >= 0).
func (s *scenario) attackerIP(i int) string { return s.c.ClientIP(1 + i) }

// dial opens an attacker connection from attacker address ip to the
// attacked node with material m, saying a hello if hello is set. The
// connection is closed by stopAttack.
func (s *scenario) dial(ip int, m pki.Material, hello bool) (*raw, error) {
	ctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
	defer cancel()
	r, err := dialRaw(ctx, s.attackerIP(ip), s.c.Nodes[target].Addr, tlsFor(m, string(s.node())))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.conns = append(s.conns, r)
	s.mu.Unlock()
	if s.ctx.Err() != nil {
		r.Close()
		return nil, s.ctx.Err()
	}
	if hello {
		if err := r.Hello(s.ctx, s.c.ClusterID); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// client is the material of the cluster's test client certificate.
func (s *scenario) client() pki.Material { return s.c.Material(pki.RoleClient, "tester") }

// mustDial is dial failing the test on an error.
func (s *scenario) mustDial(ip int, m pki.Material) *raw {
	s.t.Helper()
	r, err := s.dial(ip, m, true)
	if err != nil {
		s.t.Fatalf("%s: attacker connection to %s: %v", s.class, s.node(), err)
	}
	return r
}

// hold waits d, or less if the watchdog stops the attack.
func (s *scenario) hold(d time.Duration) {
	select {
	case <-s.ctx.Done():
	case <-time.After(d):
	}
}

// minAttack is the least time between attack and finish, so that the
// benign client runs against what a quick attack (a relay) left behind.
const minAttack = time.Second

// finish checks the class's common verdicts: the attacked node's VmHWM is
// under the bound, it is still running, and the benign client was served
// throughout. The attack's connections stay open until the checks ran.
func (s *scenario) finish() {
	s.t.Helper()
	s.hold(minAttack - time.Since(s.begun))
	rep := s.load.Stop()
	peak, tripped := s.dog.Stop()
	m, err := checkPeak(s.pid, rssBound, s.class)
	s.t.Logf("%s: node %s after the attack: %v (highest VmRSS sampled %s); benign client: %d ops, %d failed, p99 %v",
		s.class, s.node(), m, mib(peak), rep.Ops, rep.Failed, rep.p99())
	if err != nil {
		s.t.Error(err)
	}
	if tripped > 0 {
		s.t.Errorf("%s attack stopped early: node VmRSS reached %s, over the %s safety ceiling", s.class, mib(tripped), mib(rssCeiling))
	}
	if !s.c.Running(target) {
		s.t.Errorf("%s attack: node %s (pid %d) is no longer running", s.class, s.node(), s.pid)
	}
	if p := rep.problem(s.class, benignOpLimit, benignMinOps); p != "" {
		s.t.Error(p)
	}
	s.stopAttack()
}
