package nemesis

import "math/rand/v2"

// choose draws the targets of a fault of kind k for a cycle, on a cluster
// of nodes nodes with the given client IPs: Kill and Pause hit one node; a
// Partition puts a random minority of the nodes (at least one, at most
// (nodes-1)/2 when that is more) and each client with probability 1/2 on
// the first side. It is a pure function of its arguments and rng's state.
func choose(rng *rand.Rand, k Kind, nodes int, clients []string) Fault {
	f := Fault{Kind: k}
	if k != Partition {
		f.Nodes = []int{rng.IntN(nodes)}
		return f
	}
	size := 1 + rng.IntN(max(1, (nodes-1)/2))
	f.Nodes = rng.Perm(nodes)[:min(size, nodes)]
	for _, c := range clients {
		if rng.IntN(2) == 0 {
			f.Clients = append(f.Clients, c)
		}
	}
	return f
}
