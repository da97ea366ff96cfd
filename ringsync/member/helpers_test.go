package member

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// universe is a history of one cluster: a chain of claims, of staged lists
// and of each node's records, each register with an optional fork (a
// different value at one position, which only a buggy writer mints). States
// drawn from it pick a position in each register.
type universe struct {
	base    *State
	claims  []Claim // claims[i] has ring version i+1
	forks   []Claim // forks[i] has the version of claims[i] and other contents
	staged  []Staged
	sforks  []Staged
	records map[ring.NodeID][]Record // by increasing (epoch, incarnation, seq)
	rforks  map[ring.NodeID][]Record
	ids     []ring.NodeID
}

func testNode(i int) ring.Node {
	return ring.Node{ID: ring.NodeID(fmt.Sprintf("n%d", i)), Addr: fmt.Sprintf("127.0.0.1:%d", 7000+i)}
}

func mustRing(tb testing.TB, q, n int) *ring.Ring {
	tb.Helper()
	nodes := make([]ring.Node, n)
	for i := range nodes {
		nodes[i] = testNode(i)
	}
	r, err := ring.New(q, nodes)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// must returns a function that fails tb on an error: must(t)(New(...)).
func must(tb testing.TB) func(*State, error) *State {
	return func(s *State, err error) *State {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
}

func newUniverse(tb testing.TB) *universe {
	tb.Helper()
	u := &universe{records: map[ring.NodeID][]Record{}, rforks: map[ring.NodeID][]Record{}}
	r := mustRing(tb, 16, 3)
	u.base = must(tb)(New("c1", r))
	entries := u.base.claim.Members
	for v := range 5 {
		c := Claim{Ring: r, Members: entries}
		if v%2 == 1 { // a plan in progress: toward a ring with a fourth node
			target, err := r.Join(testNode(3))
			if err != nil {
				tb.Fatal(err)
			}
			c.Target, c.Plan = target, r.Version()
			c.Members = append(append([]Entry(nil), entries...), Entry{ID: "n3", Addr: testNode(3).Addr, Status: Joining})
			c.Transfers = []Transfer{{Partition: target.OwnedBy("n3")[0], From: "n0", To: "n3"}}
			if c.Transfers[0].From == target.Owner(c.Transfers[0].Partition) {
				c.Transfers[0].From = "n1"
			}
		}
		u.claims = append(u.claims, c)
		fork := c
		fork.Members = append([]Entry(nil), c.Members...)
		fork.Members[0].Status = Leaving
		u.forks = append(u.forks, fork)
		next, err := r.Toward(r, nil)
		if err != nil {
			tb.Fatal(err)
		}
		r = next
	}
	for rev := range uint64(4) {
		u.staged = append(u.staged, Staged{Rev: rev, Changes: []Change{{Kind: Leave, ID: ring.NodeID(fmt.Sprintf("n%d", rev%3))}}[:rev%2]})
		u.sforks = append(u.sforks, Staged{Rev: rev, Changes: []Change{{Kind: Remove, ID: "n9"}}})
	}
	for i := range 5 {
		id := testNode(i).ID
		u.ids = append(u.ids, id)
		for k := range uint64(6) {
			rec := Record{ID: id, Addr: testNode(i).Addr, Epoch: k / 4, Incarnation: k / 2 % 2, Seq: k, Seen: k/2 + 1}
			if k%3 == 2 {
				rec.Plan, rec.Received = 2, []int{int(k)}
			}
			u.records[id] = append(u.records[id], rec)
			fork := rec
			fork.Seen += 10
			u.rforks[id] = append(u.rforks[id], fork)
		}
	}
	return u
}

// draw picks a state; with forks, each register may take a forked value.
func (u *universe) draw(rng *rand.Rand, forks bool) *State {
	fork := func() bool { return forks && rng.IntN(4) == 0 }
	s := &State{cluster: u.base.cluster}
	i := rng.IntN(len(u.claims))
	s.claim = u.claims[i]
	if fork() {
		s.claim = u.forks[i]
	}
	j := rng.IntN(len(u.staged))
	s.staged = u.staged[j]
	if fork() {
		s.staged = u.sforks[j]
	}
	for _, id := range u.ids {
		if rng.IntN(3) == 0 {
			continue
		}
		k := rng.IntN(len(u.records[id]))
		rec := u.records[id][k]
		if fork() {
			rec = u.rforks[id][k]
		}
		s.records = append(s.records, rec)
	}
	return s
}

// same reports whether two merge outcomes agree: both failed, or both gave
// states with equal encodings.
func same(tb testing.TB, a *State, aerr error, b *State, berr error) bool {
	tb.Helper()
	if (aerr != nil) != (berr != nil) {
		return false
	}
	return aerr != nil || bytes.Equal(mustEncode(tb, a), mustEncode(tb, b))
}

func mustEncode(tb testing.TB, s *State) []byte {
	tb.Helper()
	b, err := Encode(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
