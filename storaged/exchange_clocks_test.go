package storaged_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/storaged/antientropy"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// movesScenario writes, on a started pair n1 (the peer) and n2 (which will
// repair), one key of each kind an exchange tells apart, and ten equal keys;
// it returns the keys that differ.
func (c *testCluster) movesScenario() []string {
	c.t.Helper()
	both := func(k string) dvv.Set {
		obj := c.coordinate("n1", "", k, "base", nil)
		c.must("n2", &wire.Replicate{Key: []byte(k), Object: obj}, &wire.Ack{})
		return obj
	}
	for i := range 10 {
		both(fmt.Sprintf("same-%02d", i))
	}
	c.coordinate("n1", "", "peer-newer", "new", both("peer-newer").VV)
	c.coordinate("n2", "", "local-newer", "new", both("local-newer").VV)
	base := both("concurrent")
	c.coordinate("n1", "", "concurrent", "from-n1", base.VV)
	c.coordinate("n2", "", "concurrent", "from-n2", base.VV)
	c.coordinate("n1", "", "peer-only", "x", nil)
	c.coordinate("n2", "", "local-only", "y", nil)
	return []string{"peer-newer", "local-newer", "concurrent", "peer-only", "local-only"}
}

// checkMoves reports what is wrong with a repair that moved fetched and
// pushed objects over the keys of movesScenario: every key must end equal
// on n1 and n2, and each differing object must have moved once, in the
// direction needed (the concurrent key both ways): 3 fetched (peer-newer,
// concurrent, peer-only), 3 pushed (local-newer, concurrent, local-only).
func (c *testCluster) checkMoves(keys []string, fetched, pushed int) error {
	var errs []error
	for _, k := range keys {
		if a, b := c.get("n1", k).Object, c.get("n2", k).Object; !a.Equal(b) {
			errs = append(errs, fmt.Errorf("%s differs: n1 %v, n2 %v", k, values(a), values(b)))
		}
	}
	if fetched != 3 || pushed != 3 {
		errs = append(errs, fmt.Errorf("%d objects fetched, %d pushed; want 3 and 3", fetched, pushed))
	}
	return errors.Join(errs...)
}

// TestExchangeMovesEachObjectOnce: a repair on n2 against n1, which differ
// in a key newer on each side, a concurrent key and a key on each side
// only, moves each differing object once in the direction its clocks call
// for, and leaves the two equal. The negative control, a peer that answers
// every clock empty (the mutant), is caught by the same check: the key
// newer on n1 is pushed instead of fetched and stays apart.
func TestExchangeMovesEachObjectOnce(t *testing.T) {
	for _, mutant := range []bool{false, true} {
		t.Run(fmt.Sprintf("empty-clocks=%v", mutant), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 2, antiEntropy("none"))
				c.start("n1")
				c.start("n2")
				keys := c.movesScenario()
				var mu sync.Mutex
				var fetched, pushed, clocks int
				defer storaged.SetExchangeHook(func(_ int, _ ring.NodeID, st antientropy.Stats, f, p int) {
					mu.Lock()
					defer mu.Unlock()
					fetched, pushed, clocks = fetched+f, pushed+p, clocks+st.Clocks
				})()
				if mutant {
					defer storaged.SetClocksAnswerEmpty()()
				}
				rp := c.repair("n2")
				mu.Lock()
				defer mu.Unlock()
				err := c.checkMoves(keys, fetched, pushed)
				if mutant {
					if err == nil || !strings.Contains(err.Error(), "peer-newer differs") {
						t.Fatalf("the check missed the mutant's repairs (%d fetched, %d pushed): %v", fetched, pushed, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if rp.Failed != 0 || rp.KeysRepaired != uint64(len(keys)) || clocks != 3 {
					t.Fatalf("repair %+v, %d clocks compared; want no failure, %d keys repaired, 3 clocks (the keys both hold)",
						rp, clocks, len(keys))
				}
				c.checkTrees("n1")
				c.checkTrees("n2")
			})
		})
	}
}

// TestExchangeClocksRefusals: the peer side of the clock request refuses a
// client certificate (node-only), a non-member, a partition it does not replicate and a key of another
// partition, and answers a member (the control) with each key's clock,
// empty for a key it does not hold.
func TestExchangeClocksRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 4, antiEntropy("none"))
		c.start("n1")
		r, mine, other := c.replicatedByN1()
		var held, absent, elsewhere []byte
		for i := 0; held == nil || absent == nil || elsewhere == nil; i++ {
			k := fmt.Appendf(nil, "key-%d", i)
			switch p := r.PartitionOf(k); {
			case p == mine && held == nil:
				held = k
			case p == mine && absent == nil:
				absent = k
			case p != mine && elsewhere == nil:
				elsewhere = k
			}
		}
		obj := c.coordinate("n1", "", string(held), "v", nil)
		member, stranger := c.nodeClient("n2", 1), c.nodeClient("n9", 2)
		ask := func(p int, keys ...[]byte) *wire.ExchangeClocks {
			return &wire.ExchangeClocks{Partition: uint32(p), Keys: keys}
		}
		for _, tc := range []struct {
			name string
			from *wire.Endpoint
			req  *wire.ExchangeClocks
			is   error
			says string
		}{
			{"client", c.client, ask(mine, held), wire.ErrForbidden, "exchange-clocks requests are node-to-node"},
			{"non-member", stranger, ask(mine, held), wire.ErrForbidden, "not a member"},
			{"not replicated", member, ask(other, held), wire.ErrMismatch, "does not replicate"},
			{"key elsewhere", member, ask(mine, elsewhere), wire.ErrBadRequest, "it is of partition"},
		} {
			err := callOn(tc.from, c.addr("n1"), "n1", tc.req, &wire.ExchangeClocksOK{})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: %v, want %v saying %q", tc.name, err, tc.is, tc.says)
			}
		}
		keys := [][]byte{held, absent}
		if string(absent) < string(held) {
			keys = [][]byte{absent, held}
		}
		var ok wire.ExchangeClocksOK
		if err := callOn(member, c.addr("n1"), "n1", ask(mine, keys...), &ok); err != nil || len(ok.Clocks) != 2 {
			t.Fatalf("control: %+v, %v", ok, err)
		}
		for i, k := range keys {
			want := obj.VV
			if string(k) == string(absent) {
				want = nil
			}
			if !ok.Clocks[i].Equal(want) {
				t.Errorf("control: clock of %s is %v, want %v", k, ok.Clocks[i], want)
			}
		}
	})
}
