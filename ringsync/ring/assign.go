package ring

import "math"

// spreadWindow is how many consecutive partitions assignment tries to give
// to distinct nodes. Dynamo's common configuration keeps N = 3 replicas (§6),
// so a walk from any partition then meets its three replicas in three steps,
// and the preference list does not depend on long runs of one owner.
const spreadWindow = 3

// unassigned marks a partition with no owner yet while dealing. Member
// indices are below MaxNodes, so it never names a node.
const unassigned = math.MaxUint16

// window is the spread window for a ring of n members: n nodes cannot fill a
// window wider than n with distinct owners.
func window(n int) int { return min(n, spreadWindow) }

// near reports whether node x owns a partition fewer than w steps away from p
// on either side (the ring wraps around).
func near(owners []uint16, p int, x uint16, w int) bool {
	mask := len(owners) - 1
	for d := 1; d < w; d++ {
		if owners[(p-d)&mask] == x || owners[(p+d)&mask] == x {
			return true
		}
	}
	return false
}

// nearest returns the partition closest to t, at most radius steps away,
// that satisfies ok; ties go clockwise first.
func nearest(q, t, radius int, ok func(p int) bool) (int, bool) {
	mask := q - 1
	for d := 0; d <= radius && d <= q/2; d++ {
		if p := (t + d) & mask; ok(p) {
			return p, true
		}
		if p := (t - d) & mask; d > 0 && ok(p) {
			return p, true
		}
	}
	return 0, false
}

// assignNew deals q partitions to n nodes (indices into the sorted members)
// in rounds: each round gives one partition to each node in an order drawn
// from g, so ownership is balanced (floor or ceil of q/n; the last, partial
// round decides who gets the extra) and each node's successors vary. Within
// a round the first candidate not owning a partition in the spread window is
// chosen; one always exists except around the wrap from the last partition
// back to the first, where the window is then relaxed.
func assignNew(q, n int, seed uint64) []uint16 {
	owners := make([]uint16, q)
	for p := range owners {
		owners[p] = unassigned
	}
	w := window(n)
	g := splitmix{state: seed}
	perm := make([]uint16, n)
	for i := range perm {
		perm[i] = uint16(i)
	}
	for start := 0; start < q; start += n {
		for i := n - 1; i > 0; i-- { // Fisher-Yates
			j := g.intn(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
		for j := 0; j < n && start+j < q; j++ {
			p := start + j
			pick := j
			for k := j; k < n; k++ {
				if !near(owners, p, perm[k], w) {
					pick = k
					break
				}
			}
			perm[j], perm[pick] = perm[pick], perm[j]
			owners[p] = perm[j]
		}
	}
	return owners
}

// tally tracks partition counts while a change moves partitions, against the
// balanced target: every member owns f or f+1 partitions, e of them f+1.
// With the counts it decides who may give or receive a partition so that a
// balanced ring stays balanced whatever order partitions move in.
type tally struct {
	loads   []int
	f, e    int
	atF1    int // members (exclude aside) owning exactly f+1
	exclude int // a leaving node's index, or -1
}

// newTally counts owners over n node indices for a target of members nodes,
// ignoring exclude (a leaving node) if it is not -1.
func newTally(owners []uint16, n, members, exclude int) *tally {
	t := &tally{loads: make([]int, n), f: len(owners) / members, e: len(owners) % members, exclude: exclude}
	for _, o := range owners {
		t.loads[o]++
	}
	for y, l := range t.loads {
		if y != exclude && l == t.f+1 {
			t.atF1++
		}
	}
	return t
}

// add changes y's count by d.
func (t *tally) add(y, d int) {
	if t.loads[y] == t.f+1 {
		t.atF1--
	}
	t.loads[y] += d
	if t.loads[y] == t.f+1 {
		t.atF1++
	}
}

// canGive reports whether y may lose a partition and still end balanced.
func (t *tally) canGive(y int) bool {
	l := t.loads[y]
	return l > t.f+1 || (l == t.f+1 && t.atF1 > t.e)
}

// canTake reports whether y may gain a partition and still end balanced.
func (t *tally) canTake(y int) bool {
	l := t.loads[y]
	return l < t.f || (l == t.f && t.atF1 < t.e)
}

// most returns the most loaded member other than skip, lowest index first.
func (t *tally) most(skip int) int {
	best := -1
	for y, l := range t.loads {
		if y != skip && y != t.exclude && (best < 0 || l > t.loads[best]) {
			best = y
		}
	}
	return best
}

// least returns the least loaded member other than skip, lowest index first.
func (t *tally) least(skip int) int {
	best := -1
	for y, l := range t.loads {
		if y != skip && y != t.exclude && (best < 0 || l < t.loads[best]) {
			best = y
		}
	}
	return best
}
