package antientropy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

var (
	actorA = dvv.Actor{Node: "a", Epoch: 1}
	actorB = dvv.Actor{Node: "b", Epoch: 2}
)

// objReplica is a replica holding objs: its key hashes are merkle.Hash of
// each object, its clocks their version vectors.
func objReplica(t testing.TB, leaves int, objs map[string]dvv.Set) *replica {
	t.Helper()
	keys := make(map[string]uint64, len(objs))
	clocks := make(map[string]dvv.VV, len(objs))
	for k, o := range objs {
		keys[k], clocks[k] = merkle.Hash([]byte(k), o), o.VV
	}
	r := newReplica(t, leaves, keys)
	r.clocks = clocks
	return r
}

// write is obj after a write of value by actor over obj's own clock.
func write(obj dvv.Set, actor dvv.Actor, value string) dvv.Set {
	out, _ := obj.Update(actor, obj.VV, []byte(value), false)
	return out
}

// TestDirections: scripted scenarios, one per way a key can differ, alone
// and all in one exchange. A key only one side holds goes to the other with
// no clock round (three round trips); a key both hold differently costs the
// fourth, and moves as its clocks say: the peer's newer, fetch only; this
// side's newer, push only; concurrent, both; the same clock over different
// values (a dot issued twice), both. Keys in both lists come with the
// peer's hash.
func TestDirections(t *testing.T) {
	base := write(dvv.Set{}, actorA, "base")
	forged := base
	forged.Siblings = []dvv.Sibling{{Dot: base.Siblings[0].Dot, Value: []byte("other")}}
	type side struct{ local, peer dvv.Set } // a zero Set: not held
	cases := map[string]struct {
		s            side
		fetch, push  bool
		clocksNeeded bool
	}{
		"peer newer":   {side{base, write(base, actorB, "new")}, true, false, true},
		"local newer":  {side{write(base, actorA, "new"), base}, false, true, true},
		"concurrent":   {side{write(base, actorA, "x"), write(base, actorB, "y")}, true, true, true},
		"same clock":   {side{base, forged}, true, true, true},
		"peer only":    {side{dvv.Set{}, base}, true, false, false},
		"local only":   {side{base, dvv.Set{}}, false, true, false},
		"local newer2": {side{write(write(base, actorB, "1"), actorA, "2"), write(base, actorB, "1")}, false, true, true},
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range cases {
			if !yield(n) {
				return
			}
		}
	})
	build := func(only string) (local, peer map[string]dvv.Set, fetch, push, theirs []string) {
		local, peer = map[string]dvv.Set{}, map[string]dvv.Set{}
		for i := range 200 { // equal keys around them
			k := fmt.Sprintf("same-%03d", i)
			local[k], peer[k] = base, base
		}
		for _, n := range names {
			if only != "" && n != only {
				continue
			}
			c := cases[n]
			if len(c.s.local.VV) > 0 {
				local[n] = c.s.local
			}
			if len(c.s.peer.VV) > 0 {
				peer[n] = c.s.peer
			}
			if c.fetch {
				fetch = append(fetch, n)
			}
			if c.push {
				push = append(push, n)
			}
			if c.fetch && c.push {
				theirs = append(theirs, n)
			}
		}
		return local, peer, fetch, push, theirs
	}
	check := func(t *testing.T, only string, clocks bool) {
		local, peer, fetch, push, theirs := build(only)
		o := run(t, Config{}, objReplica(t, 256, local), objReplica(t, 256, peer), nil)
		checkRepairs(t, o, fetch, push)
		if got := slices.Sorted(func(yield func(string) bool) {
			for k := range o.theirs {
				if !yield(k) {
					return
				}
			}
		}); !slices.Equal(got, theirs) {
			t.Fatalf("the peer's hashes came for %v, want %v", got, theirs)
		}
		for k, h := range o.theirs {
			if h != merkle.Hash([]byte(k), peer[k]) {
				t.Fatalf("%s: the peer's hash %x, want its object's", k, h)
			}
		}
		rounds := 3
		if clocks {
			rounds = 4
		}
		if o.stats.RoundTrips != rounds {
			t.Fatalf("%d round trips, want %d (%+v)", o.stats.RoundTrips, rounds, o.stats)
		}
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) { check(t, n, cases[n].clocksNeeded) })
	}
	t.Run("all at once", func(t *testing.T) { check(t, "", true) })
}

// TestDirection: Direction against the cases it names, each clock pair
// both ways round.
func TestDirection(t *testing.T) {
	a1 := dvv.VV{{Actor: actorA, Counter: 1}}
	a2 := dvv.VV{{Actor: actorA, Counter: 2}}
	a1b1 := dvv.VV{{Actor: actorA, Counter: 1}, {Actor: actorB, Counter: 1}}
	b1 := dvv.VV{{Actor: actorB, Counter: 1}}
	for _, tc := range []struct {
		name        string
		local, peer dvv.VV
		fetch, push bool
	}{
		{"equal", a1, a1, true, true},
		{"both empty", nil, nil, true, true},
		{"peer newer", a1, a2, true, false},
		{"peer newer, another actor", a1, a1b1, true, false},
		{"local newer", a2, a1, false, true},
		{"peer gone", a1, nil, false, true},
		{"concurrent", a1, b1, true, true},
		{"concurrent, wider", a2, a1b1, true, true},
	} {
		if f, p := Direction(tc.local, tc.peer); f != tc.fetch || p != tc.push {
			t.Errorf("%s: Direction(%v, %v) = %v, %v; want %v, %v", tc.name, tc.local, tc.peer, f, p, tc.fetch, tc.push)
		}
		// Swapped, fetch and push swap.
		if f, p := Direction(tc.peer, tc.local); f != tc.push || p != tc.fetch {
			t.Errorf("%s swapped: Direction(%v, %v) = %v, %v; want %v, %v", tc.name, tc.peer, tc.local, f, p, tc.push, tc.fetch)
		}
	}
}

// TestClockPaging: more waiting keys than MaxClocks go in several requests
// (each sorted, at most MaxClocks), and a peer that answers a prefix is
// asked again for the rest; the repairs are the same either way.
func TestClockPaging(t *testing.T) {
	local, peer := map[string]dvv.Set{}, map[string]dvv.Set{}
	base := write(dvv.Set{}, actorA, "base")
	var fetch, push []string
	for i := range 30 {
		k := fmt.Sprintf("k%02d", i)
		local[k], peer[k] = base, write(base, actorB, "new")
		fetch = append(fetch, k)
		if i%3 == 0 {
			local[k], peer[k] = peer[k], local[k]
			fetch, push = fetch[:len(fetch)-1], append(push, k)
		}
	}
	slices.Sort(push)
	for _, tc := range []struct {
		name   string
		cfg    Config
		prefix int // the peer answers at most this many clocks (0: all)
		rounds int // clock requests
	}{
		{"one request", Config{}, 0, 1},
		{"max clocks 7", Config{MaxClocks: 7}, 0, 5},
		{"prefixes of 4", Config{}, 4, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clockReqs := 0
			o := run(t, tc.cfg, objReplica(t, 256, local), objReplica(t, 256, peer), func(_ int, req, ans any) any {
				q, ok := req.(*wire.ExchangeClocks)
				if !ok {
					return ans
				}
				clockReqs++
				if max := tc.cfg.WithDefaults().MaxClocks; len(q.Keys) > max {
					t.Fatalf("a clock request of %d keys, max %d", len(q.Keys), max)
				}
				if c := ans.(*wire.ExchangeClocksOK); tc.prefix > 0 && len(c.Clocks) > tc.prefix {
					c.Clocks = c.Clocks[:tc.prefix]
				}
				return ans
			})
			checkRepairs(t, o, fetch, push)
			if clockReqs != tc.rounds || o.stats.Clocks != 30 {
				t.Fatalf("%d clock requests, %d clocks compared; want %d, 30", clockReqs, o.stats.Clocks, tc.rounds)
			}
		})
	}
}

// TestBadClocks: a clock answer with no clocks, more clocks than keys asked
// or an invalid clock ends the exchange with ErrMalformed; a failed clock
// request with ErrPeer, handing out nothing for the keys that waited. The
// control, the right answer, repairs the key.
func TestBadClocks(t *testing.T) {
	base := write(dvv.Set{}, actorA, "base")
	local := map[string]dvv.Set{"k": base, "same": base}
	peer := map[string]dvv.Set{"k": write(base, actorB, "new"), "same": base}
	clocksAnswer := func(f func(*wire.ExchangeClocksOK) any) func(int, any, any) any {
		return func(_ int, req, ans any) any {
			if _, ok := req.(*wire.ExchangeClocks); ok {
				return f(ans.(*wire.ExchangeClocksOK))
			}
			return ans
		}
	}
	for _, tc := range []tampered{
		{"control", nil, nil, ""},
		{"none", clocksAnswer(func(*wire.ExchangeClocksOK) any { return &wire.ExchangeClocksOK{} }), ErrMalformed, "0 clocks for 1 keys"},
		{"too many", clocksAnswer(func(c *wire.ExchangeClocksOK) any { c.Clocks = append(c.Clocks, nil); return c }), ErrMalformed, "2 clocks for 1 keys"},
		{"invalid", clocksAnswer(func(c *wire.ExchangeClocksOK) any {
			c.Clocks[0] = dvv.VV{{Actor: actorB, Counter: 1}, {Actor: actorA, Counter: 1}}
			return c
		}), ErrMalformed, "not sorted"},
		{"wrong type", clocksAnswer(func(*wire.ExchangeClocksOK) any { return &wire.ExchangeKeysOK{} }), ErrMalformed, "to exchange-clocks"},
		{"failed", clocksAnswer(func(*wire.ExchangeClocksOK) any { return wire.ErrShuttingDown }), ErrPeer, "exchange-clocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := run(t, Config{}, objReplica(t, 256, local), objReplica(t, 256, peer), tc.tamper)
			if tc.is == nil {
				checkRepairs(t, o, []string{"k"}, nil)
				return
			}
			if !errors.Is(o.err, tc.is) || !strings.Contains(o.err.Error(), tc.says) {
				t.Fatalf("err = %v, want %v saying %q", o.err, tc.is, tc.says)
			}
			if len(o.fetch) != 0 || len(o.push) != 0 {
				t.Fatalf("after a failed clock round: fetch %v, push %v; want nothing", o.fetch, o.push)
			}
		})
	}
}

// TestClockPageBudget: a peer's answer ends at about
// wire.ExchangeClocksBudget bytes of clocks, and a request with keys out of
// order or twice is refused.
func TestClockPageBudget(t *testing.T) {
	keys := make(wire.ExchangeKeyList, wire.MaxExchangeClocks)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "k%05d", i)
	}
	cp, err := NewClockPage(&wire.ExchangeClocks{Keys: keys})
	must(t, err)
	long := make(dvv.VV, 20)
	for i := range long {
		long[i] = dvv.Entry{Actor: dvv.Actor{Node: strings.Repeat("n", 200) + fmt.Sprintf("%03d", i), Epoch: uint64(i) + 1}, Counter: 1 << 40}
	}
	n := 0
	for range keys {
		n++
		if cp.Add(long) {
			break
		}
	}
	body, err := wire.Encode(cp.OK())
	must(t, err)
	// vvBytes bounds a clock's size from above, so the page ends at most one
	// clock past the budget, and (the bound being close) not before 90 % of it.
	if n == len(keys) || len(body) < wire.ExchangeClocksBudget*9/10 || len(body) > wire.ExchangeClocksBudget+vvBytes(long) {
		t.Fatalf("the page ended after %d of %d clocks at %d bytes; want it to end at about %d", n, len(keys), len(body), wire.ExchangeClocksBudget)
	}
	if _, err := NewClockPage(&wire.ExchangeClocks{Keys: wire.ExchangeKeyList{[]byte("b"), []byte("a")}}); !errors.Is(err, wire.ErrBadRequest) {
		t.Fatalf("keys out of order: %v, want ErrBadRequest", err)
	}
	if _, err := NewClockPage(&wire.ExchangeClocks{Keys: wire.ExchangeKeyList{[]byte("a"), []byte("a")}}); !errors.Is(err, wire.ErrBadRequest) {
		t.Fatalf("a key twice: %v, want ErrBadRequest", err)
	}
}
