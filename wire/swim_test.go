package wire_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/ringsync/swim"
	"github.com/shoalkv/shoal/wire"
)

// TestSwimRoundTrip: random messages, ids up to ring.MaxIDLen bytes and up
// to MaxSwimUpdates updates, decode to what was encoded (no updates: nil).
func TestSwimRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	id := func() ring.NodeID {
		return ring.NodeID(strings.Repeat("é", rng.IntN(ring.MaxIDLen/2+1)))
	}
	for i := range 500 {
		m := swim.Msg{Kind: swim.Kind(rng.IntN(7)), Seq: rng.Uint64(), Target: id()}
		for range rng.IntN(wire.MaxSwimUpdates + 1) {
			m.Updates = append(m.Updates, swim.Update{Node: id(), Incarnation: rng.Uint64() >> rng.IntN(64),
				State: swim.State(rng.IntN(6)), From: id()})
		}
		b, err := wire.Encode(&wire.Swim{Msg: m})
		if err != nil {
			t.Fatal(err)
		}
		var got wire.Swim
		if err := wire.Decode(b, &got); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !reflect.DeepEqual(got.Msg, m) {
			t.Fatalf("message %d: decodes to %+v, want %+v", i, got.Msg, m)
		}
	}
}

// TestSwimBounds: one update over MaxSwimUpdates, or an id over
// ring.MaxIDLen, is refused as too large or malformed, while the limits
// themselves pass.
func TestSwimBounds(t *testing.T) {
	ups := make([]swim.Update, wire.MaxSwimUpdates)
	for i := range ups {
		ups[i] = swim.Update{Node: "n1", State: swim.Alive}
	}
	long := ring.NodeID(strings.Repeat("x", ring.MaxIDLen))
	for _, tc := range []struct {
		name    string
		msg     swim.Msg
		wantErr error
	}{
		{"at the caps", swim.Msg{Kind: swim.KindGossip, Target: long, Updates: ups}, nil},
		{"one update too many", swim.Msg{Kind: swim.KindGossip, Updates: append(ups, ups[0])}, wire.ErrTooLarge},
		{"target too long", swim.Msg{Kind: swim.KindPing, Target: long + "x"}, wire.ErrBadRequest},
		{"update id too long", swim.Msg{Kind: swim.KindGossip, Updates: []swim.Update{{Node: "n1", From: long + "x"}}}, wire.ErrBadRequest},
	} {
		b, err := wire.Encode(&wire.Swim{Msg: tc.msg})
		if err != nil {
			t.Fatal(err)
		}
		var got wire.Swim
		err = wire.Decode(b, &got)
		if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: decode: %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}
