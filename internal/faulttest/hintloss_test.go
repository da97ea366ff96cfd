package faulttest

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
	"github.com/shoalkv/shoal/ringsync/ring"
)

// Hint-holder disk loss (issue 10's acceptance), 5 nodes, N=3, W=2: a
// primary P (n1) is killed; keys it is a primary of, whose first fallback
// is F, are written, so F keeps their hints for P; F is stopped, its data
// directory deleted, and it is restarted empty; then P is restarted. The
// hints that would have brought P the writes are gone.
//
// "Had one surviving copy", precisely: an acknowledged write one of whose
// two live primaries (its primaries other than P, never wiped) holds its
// value in its objects bucket just before F is wiped, asked directly while
// it holds no hint record. Every acknowledged write should be one: the
// coordinator is a live primary and acknowledges only what it holds
// durably; one that is not is reported as a failure (acknowledged data
// that lived only in a hint).
//
// With anti-entropy (every 2 s here, instead of the default 30 s, to keep
// the test short) every surviving write must reach all three primaries;
// hint delivery must have delivered nothing (F's hints are gone, and no
// other node held any), so the repair is anti-entropy's among the
// primaries. The control, anti-entropy off, must find P missing every
// surviving write after hintLossControlWait.
const (
	hintLossKeys       = 100
	hintLossPrimary    = "n1"
	hintLossAEInterval = "2s"
	hintLossLimit      = 30 * time.Second
	// hintLossControlWait is how long the control waits before it checks
	// that P is still missing the writes: five of the tested run's
	// anti-entropy intervals.
	hintLossControlWait = 10 * time.Second
)

// TestHintHolderDiskLossRepairedByAntiEntropy: every surviving write ends on
// all three primaries, by anti-entropy.
func TestHintHolderDiskLossRepairedByAntiEntropy(t *testing.T) {
	h := runHintLoss(t, "--anti-entropy-interval="+hintLossAEInterval)
	took, left, last := h.in.await(h.ctx, h.writes, h.all, hintLossLimit)
	sts, errs := h.in.statuses(h.ctx)
	m := sumMechanisms(t, sts, errs)
	if len(left) > 0 || took > hintLossLimit {
		t.Fatalf("%v after %s's restart, %d of %d primary copies of surviving writes not shown held (limit %v): %s",
			took.Round(time.Millisecond), hintLossPrimary, len(left), len(h.all), hintLossLimit, last)
	}
	if m.delivered != 0 || m.aeRepaired == 0 {
		t.Fatalf("the repair is not shown to be anti-entropy's: %d hints delivered, %d keys repaired by anti-entropy", m.delivered, m.aeRepaired)
	}
	t.Logf("all %d primary copies of %d surviving writes held %v after %s's restart: anti-entropy repaired %d keys, 0 hints delivered",
		len(h.all), len(h.survivors), took.Round(time.Millisecond), hintLossPrimary, m.aeRepaired)
}

// TestHintHolderDiskLossControl is the negative control: with anti-entropy
// off, nothing brings P the surviving writes, and the check says so.
func TestHintHolderDiskLossControl(t *testing.T) {
	h := runHintLoss(t, "--anti-entropy-interval=-1s")
	time.Sleep(hintLossControlWait)
	left, last := h.in.sweep(h.ctx, h.writes, h.all)
	onP := slices.ContainsFunc(left, func(c copyRef) bool { return c.node != hintLossPrimary })
	if len(left) != len(h.survivors) || onP || last.counts[missing] != len(left) {
		t.Fatalf("control: with anti-entropy off, %s should miss exactly its %d copies of surviving writes %v after its restart; the check finds %d not held (some elsewhere: %v): %s",
			hintLossPrimary, len(h.survivors), hintLossControlWait, len(left), onP, last)
	}
	t.Logf("control: %v after its restart %s still misses all %d surviving writes; the other primaries hold theirs", hintLossControlWait, hintLossPrimary, len(left))
}

// hintLoss is the state of a run once P has been restarted.
type hintLoss struct {
	ctx       context.Context
	in        *inspector
	writes    []write   // acknowledged
	survivors []int     // indexes into writes of those with a surviving copy
	all       []copyRef // every primary's copy of every survivor
}

// runHintLoss runs the scenario up to P's restart on a 5-node cluster whose
// nodes all get args, checking each step; the caller judges the outcome.
func runHintLoss(t *testing.T, args ...string) hintLoss {
	c := testcluster.Start(t, testcluster.Options{Nodes: 5, Args: args})
	t.Logf("storaged flags %v", args)
	h := hintLoss{ctx: ctxT(t, 2*time.Minute)}
	h.in = newInspector(t, h.ctx, c)
	cl := c.Client(nil)
	r := h.in.r
	p := nodeIndex(t, c, hintLossPrimary)
	// F: the first fallback of the first key P is a primary of.
	var fallback ring.NodeID
	keys := keysWhere(r, 3, "hintloss", hintLossKeys, func(primaries, fallbacks []ring.Node) bool {
		if !slices.ContainsFunc(primaries, func(n ring.Node) bool { return n.ID == hintLossPrimary }) {
			return false
		}
		if fallback == "" {
			fallback = fallbacks[0].ID
		}
		return fallbacks[0].ID == fallback
	})
	f := nodeIndex(t, c, string(fallback))

	c.Kill(p)
	for _, k := range keys {
		w := write{key: []byte(k), value: []byte("v-" + k)}
		if _, err := cl.Put(h.ctx, w.key, w.value, nil, driver.WithW(2)); err != nil {
			t.Logf("put %s with %s down not acknowledged: %v", k, hintLossPrimary, err)
			continue
		}
		h.writes = append(h.writes, w)
	}
	cl.Close() // its background replication ends first: no write after this
	st, err := h.in.status(h.ctx, fallback)
	if err != nil {
		t.Fatal(err)
	}
	held := uint64(0)
	for _, o := range st.HintOwners {
		if o.Owner == hintLossPrimary {
			held = o.Keys
		}
	}
	t.Logf("%d of %d puts acknowledged with %s killed; %s holds %d hint records for it", len(h.writes), len(keys), hintLossPrimary, fallback, held)
	if held == 0 {
		t.Fatalf("%s holds no hints for %s: the scenario did not happen", fallback, hintLossPrimary)
	}

	// The surviving copies, on the live primaries, before the wipe.
	live := copiesOn(r, 3, h.writes, func(id ring.NodeID) bool { return id != hintLossPrimary })
	left, last := h.in.sweep(h.ctx, h.writes, live)
	surviving := make(map[int]bool)
	for _, c := range live {
		if !slices.Contains(left, c) {
			surviving[c.write] = true
		}
	}
	for i := range h.writes {
		if surviving[i] {
			h.survivors = append(h.survivors, i)
		}
	}
	t.Logf("before the wipe, live primaries: %s; %d of %d acknowledged writes have a surviving copy", last, len(h.survivors), len(h.writes))
	if len(h.survivors) != len(h.writes) {
		t.Errorf("%d acknowledged writes are on no live primary: they lived only in %s's hints", len(h.writes)-len(h.survivors), fallback)
	}

	before := st.Epoch
	c.Stop(f)
	if err := os.RemoveAll(c.Nodes[f].DataDir); err != nil {
		t.Fatal(err)
	}
	c.Restart(f)
	if st, err = h.in.status(h.ctx, fallback); err != nil || st.Hints != 0 || st.Epoch == before {
		t.Fatalf("%s after the wipe: %d hints, epoch %d (was %d), err %v; want no hints and a new epoch", fallback, st.Hints, st.Epoch, before, err)
	}
	t.Logf("%s's data directory wiped: it restarted with a new epoch and no hints", fallback)

	c.Restart(p)
	for _, c := range copiesOn(r, 3, h.writes, nil) {
		if surviving[c.write] {
			h.all = append(h.all, c)
		}
	}
	return h
}
