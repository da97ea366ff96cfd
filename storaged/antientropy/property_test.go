package antientropy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shoalkv/shoal/wire"
)

// TestPropertySymmetricDifference: for random pairs of key sets with random
// differences (changed, local-only, peer-only keys), random tree sizes and
// random small bounds, the keys the exchange repairs are exactly the
// symmetric difference of the two states by key and hash.
func TestPropertySymmetricDifference(t *testing.T) {
	sizes := []int{256, 512, 1024, 4096}
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 99))
		local := keySet(rng, rng.IntN(3000))
		peer := clone(local)
		for k := range local {
			switch rng.IntN(40) {
			case 0:
				delete(peer, k)
			case 1:
				delete(local, k)
			case 2:
				peer[k] = rng.Uint64() | 1
			}
		}
		for i := range rng.IntN(30) {
			peer[fmt.Sprintf("p%d", i)] = rng.Uint64() | 1
		}
		cfg := Config{MaxBranches: 1 + rng.IntN(8), MaxLeaves: 1 + rng.IntN(8), MaxKeys: 1 + rng.IntN(8)}
		if seed%3 == 0 {
			cfg = Config{}
		}
		lr := newReplica(t, sizes[rng.IntN(len(sizes))], local)
		pr := newReplica(t, sizes[rng.IntN(len(sizes))], peer)
		o := run(t, cfg, lr, pr, nil)
		f, p := want(local, peer)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkRepairs(t, o, f, p) })
	}
}

// FuzzAnswers feeds arbitrary bytes, decoded as the answer due, to an
// exchange at each step: it never panics, and it either fails with
// ErrMalformed or goes on.
func FuzzAnswers(f *testing.F) {
	f.Add(uint8(0), []byte{0x93, 0xcd, 0x01, 0x00, 0x01, 0xc0})
	f.Add(uint8(1), []byte{0x91, 0xc4, 0x03, 1, 2, 8})
	f.Add(uint8(2), []byte{0x92, 0x91, 0x92, 0xc4, 0x01, 'a', 0x01, 0xc3})
	f.Add(uint8(3), []byte{0x91, 0x91, 0x90})
	f.Fuzz(func(t *testing.T, step uint8, in []byte) {
		rng := rand.New(rand.NewPCG(7, 7))
		local := keySet(rng, 500)
		peer := clone(local)
		peer["k000001"] = 1
		lr, pr := newReplica(t, 256, local), newReplica(t, 256, peer)
		x, err := New(Config{MaxKeys: 4}, 1, 1, lr.tree)
		must(t, err)
		for n := 0; ; n++ {
			rd := x.Ready()
			if rd.Done {
				if rd.Err != nil && !errorsIsMalformed(rd.Err) {
					t.Fatalf("failed with %v", rd.Err)
				}
				return
			}
			if rd.Scan != nil {
				x.Local(lr.scan(rd.Scan))
			}
			if rd.Send == nil {
				continue
			}
			ans := pr.answer(t, rd.Send)
			if n == int(step%8) {
				ans = decodeAs(ans, in)
				if ans == nil {
					return
				}
			}
			x.Answer(ans, len(in))
		}
	})
}

func errorsIsMalformed(err error) bool {
	return err != nil && (errors.Is(err, ErrMalformed))
}

// decodeAs decodes in as a value of like's type, or returns nil.
func decodeAs(like any, in []byte) any {
	var m any
	switch like.(type) {
	case *wire.ExchangeTopOK:
		m = new(wire.ExchangeTopOK)
	case *wire.ExchangeLeavesOK:
		m = new(wire.ExchangeLeavesOK)
	case *wire.ExchangeKeysOK:
		m = new(wire.ExchangeKeysOK)
	case *wire.ExchangeClocksOK:
		m = new(wire.ExchangeClocksOK)
	}
	if wire.Decode(in, m) != nil {
		return nil
	}
	return m
}
