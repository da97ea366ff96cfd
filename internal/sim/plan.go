package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// FaultKind names a fault the simulator can inject.
type FaultKind int

const (
	// Crash kills a node (unsynced writes lost as the seed decides) and
	// restarts it after For.
	Crash FaultKind = iota + 1
	// Pause holds every packet to and from a node for For: what its peers
	// see of a process stopped with SIGSTOP (its timers still run).
	Pause
	// Partition cuts the nodes and clients in Side off from the rest for
	// For.
	Partition
	// Loss makes every link drop Rate of its packets for For.
	Loss
	// ClockJump steps a node's clock by Jump (and back after For).
	ClockJump
)

func (k FaultKind) String() string {
	switch k {
	case Crash:
		return "crash"
	case Pause:
		return "pause"
	case Partition:
		return "partition"
	case Loss:
		return "loss"
	case ClockJump:
		return "clock-jump"
	}
	return fmt.Sprintf("fault(%d)", int(k))
}

// Fault is one fault of a plan: it starts At (from the start of the run)
// and lasts For.
type Fault struct {
	Kind    FaultKind
	At, For time.Duration
	Node    int      // Crash, Pause, ClockJump: the node's index
	Side    []string // Partition: the hosts cut off from the others
	Rate    float64  // Loss
	Jump    time.Duration
}

func (f Fault) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v+%v %s", f.At, f.For, f.Kind)
	switch f.Kind {
	case Crash, Pause:
		fmt.Fprintf(&b, " n%d", f.Node+1)
	case ClockJump:
		fmt.Fprintf(&b, " n%d by %v", f.Node+1, f.Jump)
	case Partition:
		fmt.Fprintf(&b, " %v | rest", f.Side)
	case Loss:
		fmt.Fprintf(&b, " %.0f%%", f.Rate*100)
	}
	return b.String()
}

// Plan is a run's fault schedule, sorted by start.
type Plan struct {
	Faults []Fault
}

func (p Plan) String() string {
	var parts []string
	for _, f := range p.Faults {
		parts = append(parts, f.String())
	}
	return strings.Join(parts, "; ")
}

// NewPlan draws a fault schedule for a run of length d over nodes storage
// nodes and clients clients: one fault every few seconds on average, of
// every kind, overlapping at times. Every fault ends by d, so the run ends
// healed.
func NewPlan(rng *rand.Rand, d time.Duration, nodes, clients int) Plan {
	var p Plan
	kinds := []FaultKind{Crash, Crash, Pause, Partition, Partition, Loss, ClockJump}
	for at := dur(rng, time.Second, 4*time.Second); at < d-2*time.Second; at += dur(rng, 2*time.Second, 8*time.Second) {
		f := Fault{Kind: kinds[rng.IntN(len(kinds))], At: at}
		f.For = min(dur(rng, time.Second, 12*time.Second), d-time.Second-at)
		switch f.Kind {
		case Crash, Pause:
			f.Node = rng.IntN(nodes)
		case ClockJump:
			f.Node = rng.IntN(nodes)
			f.Jump = dur(rng, -30*time.Second, 30*time.Second)
		case Partition:
			f.Side = partitionSide(rng, nodes, clients)
		case Loss:
			f.Rate = 0.05 + 0.25*rng.Float64()
		}
		p.Faults = append(p.Faults, f)
	}
	slices.SortStableFunc(p.Faults, func(a, b Fault) int { return int(a.At - b.At) })
	return p
}

// partitionSide picks a minority or majority of the nodes and some of the
// clients, as hosts.
func partitionSide(rng *rand.Rand, nodes, clients int) []string {
	var side []string
	k := 1 + rng.IntN(nodes-1)
	for _, i := range rng.Perm(nodes)[:k] {
		side = append(side, hostOf(NodeAddr(i)))
	}
	for i := range clients {
		if rng.IntN(2) == 0 {
			side = append(side, hostOf(ClientAddr(i)))
		}
	}
	slices.Sort(side)
	return side
}

func hostOf(addr string) string { return addr[:strings.LastIndexByte(addr, ':')] }

// dur is uniform in [lo, hi).
func dur(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}
