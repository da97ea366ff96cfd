package replica

import (
	"errors"
	"math"
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

func mustCoordinate(t *testing.T, cur dvv.Set, actor dvv.Actor, value string, ctx dvv.VV) dvv.Set {
	t.Helper()
	next, err := Coordinate(cur, actor, Write{Value: []byte(value), Context: ctx}, wire.Limits{}.WithDefaults())
	if err != nil {
		t.Fatalf("coordinate %q: %v", value, err)
	}
	return next
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
	tomb, err := Coordinate(blind, a, Write{Tombstone: true, Context: blind.VV}, wire.Limits{}.WithDefaults())
	if err != nil || tomb.Live() {
		t.Fatalf("a tombstone over everything read: live=%v, %v", tomb.Live(), err)
	}
}

func TestCoordinateLimits(t *testing.T) {
	lim := wire.Limits{MaxSiblings: 2, MaxContext: 2, MaxObject: 64}.WithDefaults()
	cur := dvv.Set{}
	var err error
	for _, v := range []string{"x", "y"} {
		if cur, err = Coordinate(cur, a, Write{Value: []byte(v)}, lim); err != nil {
			t.Fatal(err)
		}
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
		{"context claims the actor's last counter", dvv.Set{}, a, Write{Value: []byte("v"), Context: dvv.VV{{Actor: a, Counter: math.MaxUint64}}}, wire.ErrBadRequest, "exhausted"},
		{"third actor", cur, b, Write{Value: []byte("v"), Context: append(cur.VV, dvv.Entry{Actor: dvv.Actor{Node: "n3", Epoch: 1}, Counter: 1})}, wire.ErrTooLarge, "3 actors (limit 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Coordinate(tc.cur, tc.act, tc.w, lim)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	x := mustCoordinate(t, dvv.Set{}, a, "x", nil)
	y := mustCoordinate(t, dvv.Set{}, b, "y", nil)
	xy, changed := Merge(x, y)
	if !changed || !slices.Equal(vals(xy), []string{"x", "y"}) {
		t.Fatalf("merge of concurrent writes: %q changed=%v, want both, changed", vals(xy), changed)
	}
	yx, _ := Merge(y, x)
	if !xy.Equal(yx) {
		t.Fatal("merge is not commutative")
	}
	if again, changed := Merge(xy, y); changed || !again.Equal(xy) {
		t.Fatalf("merging what is held already changed it (%v)", changed)
	}
	newer := mustCoordinate(t, xy, a, "z", xy.VV)
	if old, changed := Merge(newer, x); changed || !slices.Equal(vals(old), []string{"z"}) {
		t.Fatalf("an old copy brought back %q (changed=%v), want [z]", vals(old), changed)
	}
}
