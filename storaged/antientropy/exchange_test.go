package antientropy

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// TestIdentical: equal trees end after the top, one small round trip,
// nothing to repair, and say they were equal (Ready.Equal); the control,
// trees one key apart, does not.
func TestIdentical(t *testing.T) {
	keys := keySet(rand.New(rand.NewPCG(1, 1)), 3000)
	o := run(t, Config{}, newReplica(t, 1024, keys), newReplica(t, 1024, clone(keys)), nil)
	checkRepairs(t, o, nil, nil)
	if o.stats.RoundTrips != 1 || o.stats.Branches != 0 || o.stats.BytesReceived > 32 || !o.equal {
		t.Fatalf("stats %+v, equal %v; want 1 round trip, no branches, a tiny answer, equal", o.stats, o.equal)
	}
	peer := clone(keys)
	peer["k-extra"] = 1
	if o := run(t, Config{}, newReplica(t, 1024, keys), newReplica(t, 1024, peer), nil); o.equal || o.err != nil {
		t.Fatalf("control, one key apart: equal %v, err %v; want not equal, no error", o.equal, o.err)
	}
}

// TestOneLeaf: k keys differing in one leaf cost four round trips (the
// fourth for their clocks, which are equal, empty, here) and repair exactly
// those keys, both ways.
func TestOneLeaf(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	local := keySet(rng, 4000)
	peer := clone(local)
	leaf := merkle.LeafOf([]byte("k000000"), 1024)
	changed := 0
	for _, k := range newReplica(t, 1024, local).sorted() {
		if merkle.LeafOf([]byte(k), 1024) == leaf && changed < 4 {
			peer[k] = rng.Uint64() | 1 // random: XOR deltas of equal size would cancel in the leaf
			changed++
		}
	}
	o := run(t, Config{}, newReplica(t, 1024, local), newReplica(t, 1024, peer), nil)
	f, p := want(local, peer)
	if changed != 4 || len(f) != 4 {
		t.Fatalf("test set-up changed %d keys", changed)
	}
	checkRepairs(t, o, f, p)
	s := o.stats
	if s.RoundTrips != 4 || s.BranchesDiffer != 1 || s.LeavesDiffer != 1 || s.KeysDiffer != 4 || s.Clocks != 4 {
		t.Fatalf("stats %+v, want 4 round trips, 1 branch, 1 leaf, 4 keys, 4 clocks", s)
	}
	// Each key both sides hold differently comes with the peer's hash.
	if len(o.theirs) != 4 {
		t.Fatalf("the peer's hashes of %d keys, want the 4 that differ: %v", len(o.theirs), o.theirs)
	}
	for k, h := range o.theirs {
		if peer[k] != h || local[k] == h {
			t.Errorf("key %s: the peer's hash %x, want %x (the peer's, not this side's %x)", k, h, peer[k], local[k])
		}
	}
}

// TestManyBranchesOneSide: keys present on one side only, spread over many
// branches, and more differing branches than MaxBranches: several leaf
// rounds, each of at most MaxBranches.
func TestManyBranchesOneSide(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	local := keySet(rng, 5000)
	peer := clone(local)
	for i, k := range newReplica(t, 256, local).sorted() {
		switch i % 97 {
		case 0:
			delete(peer, k) // local only: push
		case 1:
			delete(local, k) // peer only: fetch
		case 2:
			peer[k] = rng.Uint64() | 1 // both
		}
	}
	for _, cfg := range []Config{{}, {MaxBranches: 4, MaxLeaves: 3, MaxKeys: 2}} {
		o := run(t, cfg, newReplica(t, 4096, local), newReplica(t, 4096, peer), nil)
		f, p := want(local, peer)
		checkRepairs(t, o, f, p)
		c := cfg.WithDefaults()
		minRounds := 1 + (o.stats.BranchesDiffer+c.MaxBranches-1)/c.MaxBranches +
			(o.stats.LeavesDiffer+c.MaxLeaves-1)/c.MaxLeaves + (o.stats.Clocks+c.MaxClocks-1)/c.MaxClocks
		if o.stats.BranchesDiffer <= 4 || o.stats.RoundTrips < minRounds {
			t.Fatalf("%+v: stats %+v, want more than 4 differing branches and at least %d round trips",
				cfg, o.stats, minRounds)
		}
		if cfg.MaxBranches == 0 && o.stats.RoundTrips != minRounds {
			t.Fatalf("defaults: %d round trips, want %d (one page per key round)", o.stats.RoundTrips, minRounds)
		}
	}
}

// TestSizes: trees of different sizes compare at the smaller, whichever
// side is larger.
func TestSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	local := keySet(rng, 2000)
	peer := clone(local)
	peer["k000010"] = 12345
	delete(peer, "k001500")
	peer["new"] = 5
	f, p := want(local, peer)
	for _, sz := range [][2]int{{256, 4096}, {4096, 256}, {512, 1024}, {1 << 18, 256}} {
		o := run(t, Config{}, newReplica(t, sz[0], local), newReplica(t, sz[1], peer), nil)
		checkRepairs(t, o, f, p)
		if wantB := min(sz[0], sz[1]) / merkle.BranchWidth; o.stats.Branches != wantB {
			t.Fatalf("sizes %v: compared %d branches, want %d", sz, o.stats.Branches, wantB)
		}
	}
}

// TestBadAnswers: a malformed, inconsistent or over-limit answer, or a failed
// send, ends the exchange with an error naming what was wrong; the control
// (no tampering) ends cleanly.
func TestBadAnswers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	local := keySet(rng, 3000)
	peer := clone(local)
	for i, k := range newReplica(t, 1024, local).sorted() {
		if i%500 == 0 {
			peer[k] = rng.Uint64() | 1
		}
	}
	// Requests: 1 top, 2 leaves, 3 keys (defaults).
	at := func(n int, f func(ans any) any) func(int, any, any) any {
		return func(i int, _, ans any) any {
			if i == n {
				return f(ans)
			}
			return ans
		}
	}
	part := func(p merkle.Part) wire.ExchangePart {
		b, err := p.Encode()
		must(t, err)
		return b
	}
	for _, tc := range []tampered{
		{"control", nil, nil, ""},
		{"wrong type", at(1, func(any) any { return &wire.Ack{} }), ErrMalformed, "answer *wire.Ack to exchange-top"},
		{"bad size", at(1, func(a any) any { a.(*wire.ExchangeTopOK).Leaves = 300; return a }), ErrMalformed, "300 leaves"},
		{"no top", at(1, func(a any) any { a.(*wire.ExchangeTopOK).Part = nil; return a }), ErrMalformed, "no top came"},
		{"garbage top", at(1, func(a any) any { a.(*wire.ExchangeTopOK).Part = wire.ExchangePart{1, 1, 8, 9}; return a }),
			merkle.ErrMalformed, "top:"},
		{"partial top", at(1, func(a any) any {
			a.(*wire.ExchangeTopOK).Part = part(merkle.Part{Leaves: 1024, Level: merkle.LevelBranch, IDs: []int{0}, Hashes: []uint32{1}})
			return a
		}), ErrMalformed, "1 branch hashes of a 1024-leaf tree, want all 16"},
		{"root mismatch", at(1, func(a any) any { a.(*wire.ExchangeTopOK).Root++; return a }), ErrMalformed, "XOR to"},
		{"leaves of other branches", func(i int, req, ans any) any {
			if i != 2 {
				return ans
			}
			asked := req.(*wire.ExchangeLeaves).Branches
			other := []int{}
			for b := 15; b >= 0 && len(other) < len(asked); b-- {
				other = append([]int{b}, other...)
			}
			if len(asked) == 16 || asked[0] == uint32(other[0]) {
				t.Fatalf("asked %v: cannot pick others", asked)
			}
			tr, _ := merkle.New(1024)
			p, _ := tr.LeafPart(other)
			return &wire.ExchangeLeavesOK{Part: part(p)}
		}, ErrMalformed, "want leaf"},
		{"key outside leaves", at(3, func(a any) any {
			ok := a.(*wire.ExchangeKeysOK)
			ok.Keys = append(ok.Keys, wire.KeyHash{Key: []byte("zzz-not-asked"), Hash: 1})
			return ok
		}), ErrMalformed, "not asked"},
		{"keys out of order", at(3, func(a any) any {
			ok := a.(*wire.ExchangeKeysOK)
			ok.Keys = append(ok.Keys, ok.Keys[0])
			return ok
		}), ErrMalformed, "not after"},
		{"too many keys", at(3, func(a any) any {
			ok := a.(*wire.ExchangeKeysOK)
			for len(ok.Keys) <= DefaultMaxKeys {
				ok.Keys = append(ok.Keys, ok.Keys[0])
			}
			return ok
		}), ErrMalformed, "a page of 1025 keys, asked at most 1024"},
		{"empty page with more", at(3, func(any) any { return &wire.ExchangeKeysOK{More: true} }), ErrMalformed, "empty page"},
		{"failed send", at(2, func(any) any { return wire.ErrShuttingDown }), ErrPeer, "exchange-leaves: wire: node shutting down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := run(t, Config{}, newReplica(t, 1024, local), newReplica(t, 1024, peer), tc.tamper)
			if tc.is == nil {
				f, p := want(local, peer)
				checkRepairs(t, o, f, p)
				return
			}
			if !errors.Is(o.err, tc.is) || !strings.Contains(o.err.Error(), tc.says) {
				t.Fatalf("err = %v, want %v saying %q", o.err, tc.is, tc.says)
			}
		})
	}
}

// TestBadLocal: a local scan with a key twice, outside the leaves asked or
// with an invalid clock fails the exchange with ErrLocal; the control, the
// right scan, does not.
func TestBadLocal(t *testing.T) {
	tr, _ := merkle.New(256)
	tr.Apply([]byte("a"), 1)
	zero := dvv.VV{{Actor: dvv.Actor{Node: "n1", Epoch: 1}, Counter: 0}}
	for name, extra := range map[string][]LocalKey{
		"control":   {{Key: []byte("a"), Hash: 1}},
		"twice":     {{Key: []byte("a"), Hash: 1}, {Key: []byte("a"), Hash: 1}},
		"outside":   {{Key: []byte("a"), Hash: 1}, {Key: []byte("b"), Hash: 1}},
		"empty":     {{Key: nil, Hash: 1}},
		"bad clock": {{Key: []byte("a"), Hash: 1, VV: zero}},
	} {
		x, err := New(Config{}, 1, 1, tr)
		must(t, err)
		peer := newReplica(t, 256, map[string]uint64{})
		ans := peer.answer(t, x.Ready().Send)
		x.Answer(ans, 10)
		x.Answer(peer.answer(t, x.Ready().Send), 10)
		rd := x.Ready()
		if rd.Scan == nil || merkle.LeafOf([]byte("b"), 256) == merkle.LeafOf([]byte("a"), 256) {
			t.Fatalf("%s: no scan asked (%+v) or test keys share a leaf", name, rd)
		}
		send := rd.Send
		x.Local(extra)
		rd = x.Ready()
		if name == "control" {
			if rd.Done {
				t.Fatalf("control: %+v, want the exchange to go on", rd)
			}
			x.Answer(peer.answer(t, send), 10)
			if rd = x.Ready(); !rd.Done || rd.Err != nil || len(rd.Push) != 1 {
				t.Fatalf("control: %+v, want the exchange to end, pushing a", rd)
			}
			continue
		}
		if !rd.Done || !errors.Is(rd.Err, ErrLocal) {
			t.Fatalf("%s: %+v, want ErrLocal", name, rd)
		}
	}
}

// TestConfig: the zero Config is valid; out-of-range fields are all
// reported.
func TestConfig(t *testing.T) {
	must(t, Config{}.Validate())
	err := Config{MaxBranches: -1, MaxLeaves: 2000, MaxKeys: 5000, MaxClocks: 5000, MaxKey: 1 << 20}.Validate()
	for _, s := range []string{"max branches -1", "max leaves 2000", "max keys 5000", "max clocks 5000", "max key 1048576"} {
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), s) {
			t.Errorf("err = %v, want it to say %q", err, s)
		}
	}
	if _, err := New(Config{}, 0, 0, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil tree: %v", err)
	}
}
