package nemesis

import (
	"fmt"
	"syscall"
	"time"

	"github.com/shoalkv/shoal/internal/testcluster"
)

// target is what faults act on: node processes by index. Run uses a
// *testcluster.Cluster through cluster; tests of the plan logic use a fake.
// No method may fail the test: all report errors.
type target interface {
	size() int
	name(i int) string
	ip(i int) string
	running(i int) bool
	// kill sends SIGKILL to node i and waits until it is reaped.
	kill(i int) (pid int, err error)
	// signal sends sig to node i's process.
	signal(i int, sig syscall.Signal) (pid int, err error)
	// launch starts node i and waits until it is ready.
	launch(i int) (pid int, err error)
}

// network is what partitions act on: *netfault.Net.
type network interface {
	Partition(groups ...[]string) error
	Heal() error
}

// reapTimeout bounds the wait for a killed node to be reaped.
const reapTimeout = 30 * time.Second

// cluster adapts *testcluster.Cluster to target, using only its methods
// that are safe off the test's goroutine.
type cluster struct{ c *testcluster.Cluster }

func (t cluster) size() int          { return len(t.c.Nodes) }
func (t cluster) name(i int) string  { return string(t.c.Nodes[i].ID) }
func (t cluster) ip(i int) string    { return t.c.NodeIP(i) }
func (t cluster) running(i int) bool { return t.c.Running(i) }

func (t cluster) kill(i int) (int, error) {
	exited := t.c.Exited(i) // before the signal: see Exited
	pid, err := t.signal(i, syscall.SIGKILL)
	if err != nil {
		return pid, err
	}
	select {
	case <-exited:
		return pid, nil
	case <-time.After(reapTimeout):
		return pid, fmt.Errorf("nemesis: %s (pid %d) not reaped %v after SIGKILL", t.name(i), pid, reapTimeout)
	}
}

func (t cluster) signal(i int, sig syscall.Signal) (int, error) {
	// A pid is only signalled while its process is known not to have been
	// reaped, so that a recycled pid never receives it.
	if !t.c.Running(i) {
		return 0, fmt.Errorf("nemesis: %s is not running; not sending %v", t.name(i), sig)
	}
	pid := t.c.PID(i)
	if err := syscall.Kill(pid, sig); err != nil {
		return pid, fmt.Errorf("nemesis: %v to %s (pid %d): %w", sig, t.name(i), pid, err)
	}
	return pid, nil
}

func (t cluster) launch(i int) (int, error) {
	if err := t.c.Launch(i); err != nil {
		return 0, fmt.Errorf("nemesis: %w", err)
	}
	return t.c.PID(i), nil
}
