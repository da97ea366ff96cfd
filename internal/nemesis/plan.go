package nemesis

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Kind is a kind of fault.
type Kind int

// The fault kinds. 0 is invalid, so a forgotten Kind is caught by Validate.
const (
	// Kill sends SIGKILL to each target node (kill -9: no shutdown, only
	// what was fsynced survives), then restarts it on its data directory
	// after the fault's duration.
	Kill Kind = iota + 1
	// Pause sends SIGSTOP to each target node, then SIGCONT after the
	// fault's duration: the process is alive and its connections open but
	// it answers nothing, like a long GC pause or a VM migration.
	Pause
	// Partition drops UDP between two sides, then heals after the fault's
	// duration: one side holds the target nodes and the fault's clients,
	// the other every other node and the plan's other clients.
	Partition
)

func (k Kind) String() string {
	switch k {
	case Kill:
		return "kill"
	case Pause:
		return "pause"
	case Partition:
		return "partition"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Defaults for zero durations.
const (
	// DefaultFor is how long a fault lasts: several times the driver's
	// 500ms probe interval and 1s coordinator timeout, so that clients see
	// the node as down and then see it return.
	DefaultFor = time.Second
	// DefaultGap is the healthy time before each fault of a cycle, long
	// enough for a restarted node to be probed back into use.
	DefaultGap = time.Second
)

// Fault is one fault: what, to whom, when (in a timed plan) and how long.
type Fault struct {
	Kind Kind
	// At is when a timed plan starts the fault, after Run began. Faults
	// never overlap: one due while another lasts starts when that ends.
	// Ignored in cycles.
	At time.Duration
	// For is how long the fault lasts (default DefaultFor in timed plans,
	// Plan.For in cycles).
	For time.Duration
	// Nodes are the target node indexes: those killed or paused, or for a
	// Partition those on the first side.
	Nodes []int
	// Clients are, for a Partition, the client IPs on the first side with
	// Nodes; the plan's other ClientIPs are on the second side.
	Clients []string
}

// Plan says which faults Run injects: either Faults, at their times, or,
// when Faults is empty, Cycle's kinds in turn, round and round until the
// context ends, each after a healthy Gap and with targets drawn from Rand.
// A Plan is not modified by Run.
type Plan struct {
	Faults []Fault
	Cycle  []Kind
	// Rand draws a cycle's targets: a Kill or Pause hits one node; a
	// Partition puts a random minority of nodes (at least one) on the first
	// side and each client on either side with even odds. Required with
	// Cycle; seed it to replay a run.
	Rand *rand.Rand
	// For is the length of each fault of a cycle (default DefaultFor).
	For time.Duration
	// Gap is the healthy time before each fault of a cycle (default
	// DefaultGap).
	Gap time.Duration
	// ClientIPs are the addresses the test's clients bind (see
	// testcluster.Cluster.ClientIP). Partitions place them on a side;
	// clients with other addresses reach every node throughout.
	ClientIPs []string
	// Observe, if set, is called from Run's goroutine at every fault's
	// beginning and end and at the final heal (NoteTo records them in a
	// history).
	Observe func(Event)
}

// ErrPlan is wrapped by Validate's errors.
var ErrPlan = errors.New("nemesis: invalid plan")

// Validate reports every problem of p for a cluster of nodes nodes, at
// once; partition says whether the network can be cut (Run passes whether
// it has a *netfault.Net).
func (p Plan) Validate(nodes int, partition bool) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrPlan, fmt.Sprintf(format, args...)))
	}
	switch {
	case len(p.Faults) == 0 && len(p.Cycle) == 0:
		bad("neither Faults nor Cycle")
	case len(p.Faults) > 0 && len(p.Cycle) > 0:
		bad("both Faults and Cycle")
	case len(p.Cycle) > 0 && p.Rand == nil:
		bad("Cycle without Rand")
	}
	if p.For < 0 || p.Gap < 0 {
		bad("negative For or Gap")
	}
	kind := func(where string, k Kind) {
		switch {
		case k < Kill || k > Partition:
			bad("%s: unknown kind %d", where, int(k))
		case k == Partition && !partition:
			bad("%s: a partition needs a *netfault.Net", where)
		case k == Partition && nodes < 2 && len(p.ClientIPs) == 0:
			bad("%s: a partition needs two nodes, or clients", where)
		}
	}
	for i, k := range p.Cycle {
		kind(fmt.Sprintf("cycle %d", i), k)
	}
	for i, f := range p.Faults {
		where := fmt.Sprintf("fault %d (%s)", i, f.Kind)
		kind(where, f.Kind)
		if f.At < 0 || f.For < 0 {
			bad("%s: negative At or For", where)
		}
		seen := map[int]bool{}
		for _, n := range f.Nodes {
			if n < 0 || n >= nodes {
				bad("%s: node %d out of range [0, %d)", where, n, nodes)
			}
			if seen[n] {
				bad("%s: node %d listed twice", where, n)
			}
			seen[n] = true
		}
		switch {
		case f.Kind != Partition && len(f.Nodes) == 0:
			bad("%s: no target nodes", where)
		case f.Kind != Partition && len(f.Clients) > 0:
			bad("%s: clients are only for partitions", where)
		case f.Kind == Partition:
			other := nodes - len(seen) + len(p.ClientIPs)
			for _, c := range p.ClientIPs {
				for _, fc := range f.Clients {
					if c == fc {
						other--
					}
				}
			}
			if len(f.Nodes)+len(f.Clients) == 0 || other <= 0 {
				bad("%s: a side of the partition is empty", where)
			}
		}
	}
	return errors.Join(errs...)
}

func (p Plan) faultFor(f Fault) time.Duration {
	switch {
	case f.For > 0:
		return f.For
	case len(p.Cycle) > 0 && p.For > 0:
		return p.For
	}
	return DefaultFor
}

func (p Plan) gap() time.Duration {
	if p.Gap > 0 {
		return p.Gap
	}
	return DefaultGap
}
