package antientropy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// replica is one side of a test exchange: its keys with their hashes, and
// the tree they build; clocks, if set, holds its objects' version vectors
// (a key without one has the empty clock).
type replica struct {
	keys   map[string]uint64
	clocks map[string]dvv.VV
	tree   *merkle.Tree
}

func newReplica(t testing.TB, leaves int, keys map[string]uint64) *replica {
	t.Helper()
	tr, err := merkle.New(leaves)
	if err != nil {
		t.Fatal(err)
	}
	for k, h := range keys {
		tr.Apply([]byte(k), h)
	}
	return &replica{keys: keys, tree: tr}
}

// sorted returns the replica's keys in order.
func (r *replica) sorted() []string {
	ks := make([]string, 0, len(r.keys))
	for k := range r.keys {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// answer plays the peer: it decodes req as the peer's shell would and
// answers from r with the package's builders.
func (r *replica) answer(t testing.TB, req any) any {
	t.Helper()
	switch q := req.(type) {
	case *wire.ExchangeTop:
		ok, err := AnswerTop(r.tree, q)
		must(t, err)
		return ok
	case *wire.ExchangeLeaves:
		ok, err := AnswerLeaves(r.tree, q)
		must(t, err)
		return ok
	case *wire.ExchangeKeys:
		pg, err := NewPage(q)
		must(t, err)
		for _, k := range r.sorted() {
			if pg.Want([]byte(k)) && pg.Add([]byte(k), r.keys[k]) {
				return pg.OK(true)
			}
		}
		return pg.OK(false)
	case *wire.ExchangeClocks:
		cp, err := NewClockPage(q)
		must(t, err)
		for _, k := range q.Keys {
			var vv dvv.VV
			if _, held := r.keys[string(k)]; held {
				vv = r.clocks[string(k)]
			}
			if cp.Add(vv) {
				break
			}
		}
		return cp.OK()
	}
	t.Fatalf("peer asked %T", req)
	return nil
}

// scan plays the local shell's store scan.
func (r *replica) scan(s *Scan) []LocalKey {
	var out []LocalKey
	for _, k := range r.sorted() {
		if s.Want([]byte(k)) {
			out = append(out, LocalKey{Key: []byte(k), Hash: r.keys[k], VV: r.clocks[k]})
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] }) // Local takes any order
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// outcome is how a test exchange ended.
type outcome struct {
	fetch, push []string
	theirs      map[string]uint64 // Ready.Theirs, gathered
	stats       Stats
	err         error
	equal       bool // Ready.Equal at the end
}

// run drives an exchange of local against peer to its end, every message
// through the wire codec. tamper, if set, may replace the peer's answer to
// the n-th request (from 1).
func run(t testing.TB, cfg Config, local, peer *replica, tamper func(n int, req, ans any) any) outcome {
	t.Helper()
	x, err := New(cfg, 7, 3, local.tree)
	must(t, err)
	var o outcome
	for n := 1; n < 100000; n++ {
		rd := x.Ready()
		for _, k := range rd.Fetch {
			o.fetch = append(o.fetch, string(k))
		}
		for _, k := range rd.Push {
			o.push = append(o.push, string(k))
		}
		for k, h := range rd.Theirs {
			if o.theirs == nil {
				o.theirs = make(map[string]uint64)
			}
			o.theirs[k] = h
		}
		if rd.Done {
			o.stats, o.err, o.equal = rd.Stats, rd.Err, rd.Equal
			return o
		}
		if rd.Send == nil && rd.Scan == nil {
			t.Fatalf("exchange stalled: %+v", rd)
		}
		if rd.Scan != nil {
			x.Local(local.scan(rd.Scan))
		}
		if rd.Send != nil {
			req := roundTrip(t, rd.Send)
			ans := peer.answer(t, req)
			if tamper != nil {
				ans = tamper(n, req, ans)
			}
			if e, ok := ans.(error); ok {
				x.Fail(e)
				continue
			}
			// An answer tampered past what its type encodes (an invalid
			// clock) goes in as it is: what a buggy decoder would pass on.
			body, err := wire.Encode(ans)
			if _, ok := exchangeTypes[wire.TypeOf(ans)]; ok && err == nil {
				ans = roundTrip(t, ans)
			}
			x.Answer(ans, len(body))
		}
	}
	t.Fatal("exchange did not end")
	return o
}

// tampered is a case of a test of bad answers: the exchange whose answers
// tamper changes must fail with an error wrapping is that says says (is
// nil: the control, which must repair what differs).
type tampered struct {
	name   string
	tamper func(n int, req, ans any) any
	is     error
	says   string
}

// roundTrip encodes and decodes msg as a new value of its type.
func roundTrip(t testing.TB, msg any) any {
	t.Helper()
	body, err := wire.Encode(msg)
	must(t, err)
	mk, ok := exchangeTypes[wire.TypeOf(msg)]
	if !ok {
		t.Fatalf("round trip of %T", msg)
	}
	out := mk()
	must(t, wire.Decode(body, out))
	return out
}

// exchangeTypes makes a new value of each exchange message type.
var exchangeTypes = map[wire.Type]func() any{
	wire.TypeExchangeTop:      func() any { return new(wire.ExchangeTop) },
	wire.TypeExchangeTopOK:    func() any { return new(wire.ExchangeTopOK) },
	wire.TypeExchangeLeaves:   func() any { return new(wire.ExchangeLeaves) },
	wire.TypeExchangeLeavesOK: func() any { return new(wire.ExchangeLeavesOK) },
	wire.TypeExchangeKeys:     func() any { return new(wire.ExchangeKeys) },
	wire.TypeExchangeKeysOK:   func() any { return new(wire.ExchangeKeysOK) },
	wire.TypeExchangeClocks:   func() any { return new(wire.ExchangeClocks) },
	wire.TypeExchangeClocksOK: func() any { return new(wire.ExchangeClocksOK) },
}

// keySet makes n keys "k000000".. with random nonzero hashes.
func keySet(rng *rand.Rand, n int) map[string]uint64 {
	m := make(map[string]uint64, n)
	for i := range n {
		m[fmt.Sprintf("k%06d", i)] = rng.Uint64() | 1
	}
	return m
}

func clone(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// want returns the keys to fetch (the peer has them, and local lacks them or
// holds other hashes) and to push (the converse), sorted.
func want(local, peer map[string]uint64) (fetch, push []string) {
	for k, h := range peer {
		if lh, ok := local[k]; !ok || lh != h {
			fetch = append(fetch, k)
		}
	}
	for k, h := range local {
		if ph, ok := peer[k]; !ok || ph != h {
			push = append(push, k)
		}
	}
	slices.Sort(fetch)
	slices.Sort(push)
	return fetch, push
}

// checkRepairs fails unless o repaired exactly fetch and push.
func checkRepairs(t testing.TB, o outcome, fetch, push []string) {
	t.Helper()
	if o.err != nil {
		t.Fatalf("exchange failed: %v", o.err)
	}
	gf, gp := slices.Sorted(slices.Values(o.fetch)), slices.Sorted(slices.Values(o.push))
	if !slices.Equal(gf, fetch) || !slices.Equal(gp, push) {
		t.Fatalf("fetch %d %v, push %d %v; want fetch %d %v, push %d %v",
			len(gf), head(gf), len(gp), head(gp), len(fetch), head(fetch), len(push), head(push))
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }
