package replica

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

var (
	a = dvv.Actor{Node: "n1", Epoch: 1}
	b = dvv.Actor{Node: "n2", Epoch: 1}
)

func vals(s dvv.Set) []string {
	var out []string
	for _, v := range s.Values() {
		out = append(out, string(v))
	}
	slices.Sort(out)
	return out
}

// node returns a durable node whose key epochs are 1, 2, 3, ... in the
// order it mints them, and whose store epoch is store.
func node(id string, store uint64) Self {
	var n uint64
	return Self{Node: id, Store: store, Durable: true, Mint: func() (uint64, error) { n++; return n, nil }}
}

// selfOf returns a durable node whose every key epoch makes actor: the
// store epoch is actor's, XOR 1, and it always mints key epoch 1.
func selfOf(actor dvv.Actor) Self {
	return Self{Node: actor.Node, Store: actor.Epoch ^ 1, Durable: true, Mint: func() (uint64, error) { return 1, nil }}
}

// mustCoordinate coordinates value over ctx at cur under actor (selfOf),
// with the key epoch that makes it.
func mustCoordinate(t *testing.T, cur dvv.Set, actor dvv.Actor, value string, ctx dvv.VV) dvv.Set {
	t.Helper()
	next, err := Coordinate(Local{Object: cur, Epoch: 1}, selfOf(actor), Write{Value: []byte(value), Context: ctx}, wire.Limits{}.WithDefaults())
	if err != nil {
		t.Fatalf("coordinate %q: %v", value, err)
	}
	if next.Epoch != 1 {
		t.Fatalf("coordinate %q took key epoch %d, want 1 (kept)", value, next.Epoch)
	}
	return next.Object
}

// merge merges in into cur held under a's key epoch, from a node.
func merge(cur, in dvv.Set, lim wire.Limits) (dvv.Set, bool, error) {
	next, changed, err := Merge(Local{Object: cur, Epoch: 1}, in, selfOf(a), FromNode, lim)
	return next.Object, changed, err
}

func TestCoordinateSupersedesWhatTheContextCovers(t *testing.T) {
	v1 := mustCoordinate(t, dvv.Set{}, a, "v1", nil)
	v2 := mustCoordinate(t, v1, a, "v2", v1.VV)
	if got := vals(v2); !slices.Equal(got, []string{"v2"}) {
		t.Fatalf("a write with the read's context left %q, want [v2]", got)
	}
	blind := mustCoordinate(t, v2, b, "w", nil)
	if got := vals(blind); !slices.Equal(got, []string{"v2", "w"}) {
		t.Fatalf("a blind write left %q, want both as siblings", got)
	}
	tomb, err := Coordinate(Local{Object: blind, Epoch: 1}, selfOf(a), Write{Tombstone: true, Context: blind.VV}, wire.Limits{}.WithDefaults())
	if err != nil || tomb.Object.Live() {
		t.Fatalf("a tombstone over everything read: live=%v, %v", tomb.Object.Live(), err)
	}
}

func TestCoordinateLimits(t *testing.T) {
	lim := wire.Limits{MaxSiblings: 2, MaxContext: 2, MaxObject: 64}.WithDefaults()
	var cur dvv.Set
	for _, v := range []string{"x", "y"} {
		next, err := Coordinate(Local{Object: cur, Epoch: 1}, selfOf(a), Write{Value: []byte(v)}, lim)
		if err != nil {
			t.Fatal(err)
		}
		cur = next.Object
	}
	for _, tc := range []struct {
		name string
		cur  dvv.Set
		act  dvv.Actor
		w    Write
		want error
		says string
	}{
		{"third sibling", cur, a, Write{Value: []byte("z")}, wire.ErrSiblingLimit, "resolved value"},
		{"object too large", dvv.Set{}, a, Write{Value: make([]byte, 100)}, wire.ErrTooLarge, "limit 64"},
		{"third actor", cur, b, Write{Value: []byte("v"), Context: append(cur.VV, dvv.Entry{Actor: dvv.Actor{Node: "n3", Epoch: 1}, Counter: 1})}, wire.ErrTooLarge, "3 actors (limit 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Coordinate(Local{Object: tc.cur, Epoch: 1}, selfOf(tc.act), tc.w, lim)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
}

var lim = wire.Limits{}.WithDefaults()

func TestMerge(t *testing.T) {
	x := mustCoordinate(t, dvv.Set{}, a, "x", nil)
	y := mustCoordinate(t, dvv.Set{}, b, "y", nil)
	xy, changed, err := merge(x, y, lim)
	if err != nil || !changed || !slices.Equal(vals(xy), []string{"x", "y"}) {
		t.Fatalf("merge of concurrent writes: %q changed=%v %v, want both, changed", vals(xy), changed, err)
	}
	yx, _, _ := merge(y, x, lim)
	if !xy.Equal(yx) {
		t.Fatal("merge is not commutative")
	}
	if again, changed, err := merge(xy, y, lim); err != nil || changed || !again.Equal(xy) {
		t.Fatalf("merging what is held already changed it (%v, %v)", changed, err)
	}
	newer := mustCoordinate(t, xy, a, "z", xy.VV)
	if old, changed, err := merge(newer, x, lim); err != nil || changed || !slices.Equal(vals(old), []string{"z"}) {
		t.Fatalf("an old copy brought back %q (changed=%v, %v), want [z]", vals(old), changed, err)
	}
}

// siblings builds an object of n concurrent one-byte values, one per actor
// epoch, each of size bytes.
func siblings(n, size int) dvv.Set {
	var s dvv.Set
	for i := range n {
		s = dvv.Merge(s, mustCoordinate(&testing.T{}, dvv.Set{}, dvv.Actor{Node: "n9", Epoch: uint64(i + 1)}, strings.Repeat("v", size), nil))
	}
	return s
}

// only keeps s's siblings from the i-th on, with a clock of just their dots.
func only(s dvv.Set, i int) dvv.Set {
	out := dvv.Set{Siblings: s.Siblings[i:]}
	for _, x := range out.Siblings {
		out.VV = out.VV.Merge(dvv.VV{{Actor: x.Dot.Actor, Counter: x.Dot.Counter}})
	}
	return out
}

func TestMergeChecksTheResult(t *testing.T) {
	small := wire.Limits{MaxSiblings: 4, MaxContext: 8, MaxValue: 100, MaxObject: 300}.WithDefaults()
	for _, tc := range []struct {
		name     string
		cur, in  dvv.Set
		want     error
		says     string
		accepted bool
	}{
		{"within every limit", siblings(2, 10), siblings(3, 10), nil, "", true},
		{"too many siblings relayed", dvv.Set{}, siblings(5, 1), wire.ErrSiblingLimit, "5 siblings (limit 4)", false},
		{"too many siblings after the merge", siblings(3, 1), only(siblings(6, 1), 3), wire.ErrSiblingLimit, "6 siblings (limit 4)", false},
		{"value over the limit", dvv.Set{}, siblings(1, 101), wire.ErrTooLarge, "value is 101 bytes, limit 100", false},
		{"object over the limit", dvv.Set{}, siblings(4, 90), wire.ErrTooLarge, "limit 300", false},
		{"clock over the limit", dvv.Set{}, dvv.Set{VV: siblings(9, 1).VV}, wire.ErrTooLarge, "9 actors (limit 8)", false},
		{"nothing new: over-limit siblings already covered", siblings(5, 1), siblings(5, 1), nil, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := merge(tc.cur, tc.in, small)
			if tc.accepted {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
}

func TestMergeRefusesADotConflict(t *testing.T) {
	held := mustCoordinate(t, dvv.Set{}, a, "good", nil)
	forged := dvv.Set{Siblings: []dvv.Sibling{{Dot: held.Siblings[0].Dot, Value: []byte("evil")}}, VV: held.VV}
	if _, _, err := merge(held, forged, lim); !errors.Is(err, wire.ErrDotConflict) || !strings.Contains(err.Error(), "4 bytes") {
		t.Fatalf("a rewrite under a held dot: %v, want ErrDotConflict", err)
	}
	tomb := dvv.Set{Siblings: []dvv.Sibling{{Dot: held.Siblings[0].Dot, Tombstone: true}}, VV: held.VV}
	if _, _, err := merge(held, tomb, lim); !errors.Is(err, wire.ErrDotConflict) || !strings.Contains(err.Error(), "a tombstone") {
		t.Fatalf("a tombstone under a held dot: %v, want ErrDotConflict", err)
	}
	// Control: the same dot with the same bytes is an ordinary no-op merge.
	same := dvv.Set{Siblings: []dvv.Sibling{{Dot: held.Siblings[0].Dot, Value: []byte("good")}}, VV: held.VV}
	if _, changed, err := merge(held, same, lim); err != nil || changed {
		t.Fatalf("the same copy again: changed=%v %v", changed, err)
	}
}
