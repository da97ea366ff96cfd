package swim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Property tests of the pure parts: merge order, probe schedule, suspicion
// timeouts, config.

// randomUpdates returns count updates about members m0..m3 (never about
// self) with small incarnations and any state.
func randomUpdates(rng *rand.Rand, count int) []Update {
	ups := make([]Update, count)
	for i := range ups {
		ups[i] = Update{Node: ring.NodeID(fmt.Sprintf("m%d", rng.IntN(4))), Incarnation: uint64(rng.IntN(4)),
			State: State(1 + rng.IntN(4)), From: ring.NodeID(fmt.Sprintf("f%d", rng.IntN(3)))}
	}
	return ups
}

type view map[ring.NodeID][2]uint64 // incarnation, state

// mergeAll applies ups in order to a fresh node and returns what it holds.
func mergeAll(ups []Update) view {
	n, err := New(Config{}, "self", t0, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	for _, u := range ups {
		n.apply(t0, u)
	}
	v := view{}
	for id, m := range n.members {
		v[id] = [2]uint64{m.inc, uint64(m.state)}
	}
	return v
}

// orderIndependent checks that merge gives the same view for every one of
// a few shuffles of many random update sets.
func orderIndependent(merge func([]Update) view) error {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		ups := randomUpdates(rng, 1+rng.IntN(12))
		want := merge(ups)
		for range 5 {
			sh := slices.Clone(ups)
			rng.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
			if got := merge(sh); fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("trial %d: %v gives %v, %v gives %v", trial, ups, want, sh, got)
			}
		}
	}
	return nil
}

func TestMergeIsOrderIndependent(t *testing.T) {
	if err := orderIndependent(mergeAll); err != nil {
		t.Fatal(err)
	}
}

// Negative control: a merge where the last update to arrive wins is caught.
func TestOrderCheckerCatchesLastWriterWins(t *testing.T) {
	lww := func(ups []Update) view {
		v := view{}
		for _, u := range ups {
			v[u.Node] = [2]uint64{u.Incarnation, uint64(u.State)}
		}
		return v
	}
	if orderIndependent(lww) == nil {
		t.Fatal("last-writer-wins passed the order check")
	}
}

func TestMergeKeepsTheGreatest(t *testing.T) {
	// The result is the greatest update under Overrides' order, whatever
	// the order of arrival: the merge is a join.
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		ups := randomUpdates(rng, 1+rng.IntN(12))
		want := view{}
		for _, u := range ups {
			cur, ok := want[u.Node]
			if !ok || u.Overrides(cur[0], State(cur[1])) {
				want[u.Node] = [2]uint64{u.Incarnation, uint64(u.State)}
			}
		}
		if got := mergeAll(ups); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%v: got %v, want %v", ups, got, want)
		}
	}
}

func TestOverridesRules(t *testing.T) {
	for _, tc := range []struct {
		u    Update
		inc  uint64
		cur  State
		want bool
	}{
		{Update{Incarnation: 3, State: Suspect}, 3, Alive, true},  // suspect beats alive at equal incarnation
		{Update{Incarnation: 3, State: Alive}, 3, Suspect, false}, // not the reverse
		{Update{Incarnation: 4, State: Alive}, 3, Suspect, true},  // a refutation beats the suspicion
		{Update{Incarnation: 4, State: Alive}, 3, Dead, true},     // and the death it refutes
		{Update{Incarnation: 3, State: Dead}, 3, Suspect, true},   // dead beats suspect
		{Update{Incarnation: 3, State: Dead}, 3, Alive, true},     // and alive
		{Update{Incarnation: 2, State: Dead}, 3, Alive, false},    // not at a lower incarnation
		{Update{Incarnation: 3, State: Left}, 3, Dead, true},      // leaving is final
		{Update{Incarnation: 3, State: Dead}, 3, Left, false},
		{Update{Incarnation: 3, State: Alive}, 3, Alive, false}, // nothing new
	} {
		if got := tc.u.Overrides(tc.inc, tc.cur); got != tc.want {
			t.Errorf("%v@%d over %v@%d = %v, want %v", tc.u.State, tc.u.Incarnation, tc.cur, tc.inc, got, tc.want)
		}
	}
}

// probeGaps runs pick for periods calls over members of which the live
// ones (live[i]) must be probed, and returns the longest run of calls
// between two probes of a live member (or from the start to its first),
// and whether every call found a live target.
func probeGaps(n *Node, ids []ring.NodeID, periods int) (worst int, always bool) {
	last := map[ring.NodeID]int{}
	always = true
	for i := range periods {
		got := n.target()
		if got == "" || !n.members[got].probeable() {
			always = false
			continue
		}
		last[got] = i + 1
		for _, id := range ids {
			if n.members[id].probeable() {
				worst = max(worst, i+1-last[id])
			}
		}
	}
	return worst, always
}

func TestProbeRoundRobinBound(t *testing.T) {
	// Every live member is probed at least once in any 2m−1 periods (m
	// live members), and the only live member is never skipped (at n = 3
	// with one member dead, memberlist#350).
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 200 {
		n, _ := New(Config{}, "self", t0, rand.New(rand.NewPCG(9, uint64(trial))))
		size := 1 + rng.IntN(8)
		var ids []ring.NodeID
		for i := range size {
			ids = append(ids, ring.NodeID(fmt.Sprintf("m%d", i)))
		}
		n.Add(t0, ids...)
		live := 0
		for _, id := range ids {
			if rng.IntN(3) == 0 && live > 0 {
				n.members[id].state = Dead
			} else {
				live++
			}
		}
		worst, always := probeGaps(n, ids, 50)
		if !always || worst > 2*live-1 {
			t.Fatalf("trial %d: %d members, %d live: longest gap %d periods (bound %d), always a target: %v", trial, size, live, worst, 2*live-1, always)
		}
	}
}

func TestNewMemberProbedWithinTwoRounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for trial := range 200 {
		n, _ := New(Config{}, "self", t0, rand.New(rand.NewPCG(12, uint64(trial))))
		size := 1 + rng.IntN(6)
		for i := range size {
			n.Add(t0, ring.NodeID(fmt.Sprintf("m%d", i)))
		}
		for range rng.IntN(3 * size) {
			n.target()
		}
		n.Add(t0, "new")
		found := false
		for range size + 1 {
			if n.target() == "new" {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("trial %d: a member added to %d was not probed within the round", trial, size)
		}
	}
}

func TestSuspicionTimeoutShrinksWithinBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for range 500 {
		k := rng.IntN(6)
		lo := time.Duration(1+rng.IntN(5000)) * time.Millisecond
		hi := lo * time.Duration(1+rng.IntN(8))
		s := newSuspicion("x", t0, k, lo, hi)
		prev := hi
		for c := 0; c <= k+1; c++ {
			d := s.timeout(c)
			if d < lo || d > hi || d > prev {
				t.Fatalf("k=%d [%v, %v]: timeout(%d) = %v after %v", k, lo, hi, c, d, prev)
			}
			prev = d
		}
		if s.timeout(k) != lo {
			t.Fatalf("k=%d: %d confirmations give %v, not the minimum %v", k, k, s.timeout(k), lo)
		}
		if k > 0 && s.timeout(0) != hi.Truncate(time.Millisecond) {
			t.Fatalf("k=%d: unconfirmed timeout %v, want the maximum %v", k, s.timeout(0), hi)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	bad := Config{ProbeInterval: -1, ProbeTimeout: -1, IndirectChecks: -1, SuspicionMult: -1, SuspicionMaxMult: -1,
		AwarenessMax: -1, GossipInterval: -1, GossipNodes: -1, RetransmitMult: -1, MaxPiggyback: -1}
	err := bad.Validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("error %v does not match ErrConfig", err)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 10 {
		t.Fatalf("want all 10 problems reported at once, got: %v", err)
	}
	if err := (Config{ProbeTimeout: time.Second, ProbeInterval: time.Second}).Validate(); err == nil {
		t.Fatal("probe timeout equal to the interval accepted")
	}
	if _, err := New(Config{}, "", t0, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, ErrSelf) {
		t.Fatalf("empty self: %v", err)
	}
	if _, err := New(Config{}, "a", t0, nil); !errors.Is(err, ErrRand) {
		t.Fatalf("nil rng: %v", err)
	}
	if _, err := New(bad, "a", t0, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad config: %v", err)
	}
}

func TestInvalidInputIgnored(t *testing.T) {
	n, _ := New(Config{}, "a", t0, rand.New(rand.NewPCG(1, 1)))
	long := ring.NodeID(make([]byte, ring.MaxIDLen+1))
	for _, m := range []Msg{
		{},                            // kind 0
		{Kind: KindGossip + 1},        // unknown kind
		{Kind: KindPing, Target: "b"}, // not for a
		{Kind: KindPingReq, Target: long},
		{Kind: KindGossip, Updates: []Update{{Node: "", State: Alive}, {Node: "x", State: 0}, {Node: "y", State: Left + 1}, {Node: long, State: Alive}}},
	} {
		if out := n.Receive(t0, "b", m); len(out) != 0 {
			t.Errorf("%+v answered with %+v", m, out)
		}
	}
	if out := n.Receive(t0, "a", Msg{Kind: KindPing, Target: "a"}); out != nil {
		t.Errorf("a message from self answered: %+v", out)
	}
	if got := len(n.Members()); got != 2 { // a and the sender b
		t.Errorf("invalid updates added members: %+v", n.Members())
	}
	// Updates beyond MaxPiggyback are dropped.
	var ups []Update
	for i := range DefaultMaxPiggyback + 3 {
		ups = append(ups, Update{Node: ring.NodeID(fmt.Sprintf("z%02d", i)), State: Alive})
	}
	n.Receive(t0, "b", Msg{Kind: KindGossip, Updates: ups})
	if got := len(n.Members()); got != 2+DefaultMaxPiggyback {
		t.Errorf("%d members after an oversized message, want %d", got, 2+DefaultMaxPiggyback)
	}
}

func TestUpdatesRetransmitLimited(t *testing.T) {
	// Each update is piggybacked RetransmitMult × ceil(log10(n+1)) times,
	// then no more; a message carries at most MaxPiggyback.
	n, _ := New(Config{MaxPiggyback: 3}, "a", t0, rand.New(rand.NewPCG(1, 1)))
	n.Add(t0, "b", "c", "d", "e")
	limit := retransmits(DefaultRetransmitMult, 5) // 4 × ceil(log10 6) = 4
	if limit != 4 {
		t.Fatalf("limit %d", limit)
	}
	counts := map[ring.NodeID]int{}
	for range 50 {
		ups := n.piggyback("b")
		if len(ups) > 3 {
			t.Fatalf("%d updates in one message", len(ups))
		}
		for _, u := range ups {
			counts[u.Node]++
		}
	}
	if counts["a"] != limit {
		t.Fatalf("a's alive sent %d times, want %d", counts["a"], limit)
	}
}
