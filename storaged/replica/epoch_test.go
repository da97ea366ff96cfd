package replica

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/internal/mutant"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// coordinate is Coordinate with the default limits, failing the test on an
// error.
func coordinate(t *testing.T, cur Local, self Self, value string, ctx dvv.VV) Local {
	t.Helper()
	next, err := Coordinate(cur, self, Write{Value: []byte(value), Context: ctx}, lim)
	if err != nil {
		t.Fatalf("coordinate %q: %v", value, err)
	}
	return next
}

func TestAbsentKeyGetsAFreshActor(t *testing.T) {
	n1 := node("n1", 0xf0)
	v1 := coordinate(t, Local{}, n1, "v1", nil)
	if v1.Epoch == 0 {
		t.Fatal("the first write of a key minted no key epoch")
	}
	a1, _ := v1.Own(n1)
	if a1 != (dvv.Actor{Node: "n1", Epoch: 0xf0 ^ v1.Epoch}) {
		t.Fatalf("the key's actor is %s, want the store epoch XOR the key epoch", a1)
	}
	v2 := coordinate(t, v1, n1, "v2", v1.Object.VV)
	if v2.Epoch != v1.Epoch || v2.Object.VV.Get(a1) != 2 {
		t.Fatalf("the second write took key epoch %d counter %d, want %d and 2", v2.Epoch, v2.Object.VV.Get(a1), v1.Epoch)
	}
	// The key is lost here (reaped, wiped), while an old tombstone of it
	// survives elsewhere: kv679_tombstone. The next write here must not be
	// covered by it.
	tomb := coordinate(t, v2, n1, "", v2.Object.VV)
	tomb.Object.Siblings[0].Tombstone, tomb.Object.Siblings[0].Value = true, nil
	again := coordinate(t, Local{}, n1, "new", nil)
	if a, _ := again.Own(n1); a == a1 {
		t.Fatalf("a re-created key reused actor %s", a)
	}
	if got := vals(dvv.Merge(again.Object, tomb.Object)); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("the old tombstone merged over the new write left %q, want [new]", got)
	}
}

func TestContextOverClaimTakesAFreshActor(t *testing.T) {
	n1 := node("n1", 7)
	held := coordinate(t, coordinate(t, Local{}, n1, "1", nil), n1, "2", nil)
	own, _ := held.Own(n1)
	for _, tc := range []struct {
		name  string
		claim uint64
		fresh bool
	}{
		{"what was issued", 2, false},
		{"one past what was issued", 3, true},
		{"near the end of the counter", math.MaxUint64 - 1, true},
		{"the end of the counter", math.MaxUint64, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := dvv.VV{{Actor: own, Counter: tc.claim}}
			next, err := Coordinate(held, n1, Write{Value: []byte("x"), Context: ctx}, lim)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			a, _ := next.Own(n1)
			if fresh := a != own; fresh != tc.fresh {
				t.Fatalf("fresh actor = %v, want %v", fresh, tc.fresh)
			}
			if tc.fresh && next.Object.VV.Get(a) != 1 {
				t.Fatalf("the fresh actor's first dot is %d, want 1", next.Object.VV.Get(a))
			}
			// The new write is not covered by the context's claim.
			if got := vals(dvv.Merge(next.Object, dvv.Set{VV: ctx})); !slices.Contains(got, "x") {
				t.Fatalf("a copy that counts %s:%d swallowed the write (%q)", own, tc.claim, got)
			}
		})
	}
}

// TestRestoredCopyWriteSurvives is the pure form of kv679_dataloss: a node
// holds an old copy of a key (counter 1) while its later writes live only
// on peers: counter 2 on one, 3 on another. A write coordinated there with
// the first peer's context must take a dot that neither peer's clock
// covers; the mutant that keeps the key's actor reissues dot 3, which the
// second peer already counts (its merge would drop or refuse the write).
func TestRestoredCopyWriteSurvives(t *testing.T) {
	n1 := node("n1", 7)
	v1 := coordinate(t, Local{}, n1, "v1", nil)
	v2 := coordinate(t, v1, n1, "v2", v1.Object.VV)
	v3 := coordinate(t, v2, n1, "v3", v2.Object.VV)
	for _, reuse := range []bool{false, true} {
		mutant.Set(mutant.KeyEpochReused, reuse)
		next := coordinate(t, v1, n1, "v4", v2.Object.VV) // the restored node, with the first peer's context
		var dot dvv.Dot
		for _, x := range next.Object.Siblings {
			if string(x.Value) == "v4" {
				dot = x.Dot
			}
		}
		if covered := v3.Object.VV.Covers(dot); covered != reuse {
			t.Errorf("key epoch reused=%v: the new write's dot %s covered by the second peer's clock: %v", reuse, dot, covered)
		}
		if _, _, err := Merge(v3, next.Object, n1, FromNode, lim); (err != nil) != reuse {
			t.Errorf("key epoch reused=%v: the second peer's merge: %v", reuse, err)
		}
	}
	mutant.Set(mutant.KeyEpochReused, false)
}

func TestMergeOverClaim(t *testing.T) {
	n1 := node("n1", 7)
	held := coordinate(t, Local{}, n1, "mine", nil)
	own, _ := held.Own(n1)
	more := coordinate(t, held, n1, "lost", held.Object.VV).Object // a write this node no longer holds
	for _, tc := range []struct {
		name    string
		src     Source
		durable bool
		refused bool
	}{
		{"from a client of a durable node", FromClient, true, true},
		{"from a node", FromNode, true, false},
		{"from a client of a node that does not sync", FromClient, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			self := n1
			self.Durable = tc.durable
			next, changed, err := Merge(held, more, self, tc.src, lim)
			if tc.refused {
				if !errors.Is(err, ErrClaim) || !errors.Is(err, wire.ErrBadRequest) || !strings.Contains(err.Error(), "issued only up to 1") {
					t.Fatalf("got %v, want ErrClaim", err)
				}
				return
			}
			if err != nil || !changed {
				t.Fatalf("refused or unchanged: %v, %v", changed, err)
			}
			if next.Epoch != 0 || !slices.Equal(vals(next.Object), []string{"lost"}) {
				t.Fatalf("key epoch %d, values %q: want the epoch dropped and the peer's write kept", next.Epoch, vals(next.Object))
			}
			after := coordinate(t, next, n1, "after", nil)
			if a, _ := after.Own(n1); a == own {
				t.Fatalf("the write after the amnesia reused actor %s", a)
			}
		})
	}
	// A refused merge still drops the key epoch: the proof of amnesia
	// stands though the object does not fit (here: too many siblings).
	tight := wire.Limits{MaxSiblings: 1}.WithDefaults()
	blind := coordinate(t, held, n1, "blind", nil).Object // a second sibling under the key's actor, lost here
	if next, changed, err := Merge(held, blind, n1, FromNode, tight); !errors.Is(err, wire.ErrSiblingLimit) || !changed || next.Epoch != 0 || !next.Object.Equal(held.Object) {
		t.Fatalf("a refused merge that shows amnesia: changed=%v epoch %d, %v; want the refusal with the epoch dropped and the object kept", changed, next.Epoch, err)
	}
	// Past MaxClaim a claim is forged whoever sends it.
	forged := dvv.Set{VV: dvv.VV{{Actor: own, Counter: MaxClaim + 1}}}
	for _, src := range []Source{FromClient, FromNode} {
		self := n1
		self.Durable = false
		if _, _, err := Merge(held, forged, self, src, lim); !errors.Is(err, ErrClaim) || !strings.Contains(err.Error(), "past any counter") {
			t.Errorf("source %d, a node that does not sync: a claim past MaxClaim: %v, want ErrClaim", src, err)
		}
	}
	// A claim of another actor of the node, or what it issued, is no claim.
	other := dvv.Set{VV: dvv.VV{{Actor: dvv.Actor{Node: "n1", Epoch: 99}, Counter: 1 << 60}}}
	if next, _, err := Merge(held, other, n1, FromClient, lim); err != nil || next.Epoch != held.Epoch {
		t.Fatalf("a claim of another epoch of the node: epoch %d, %v", next.Epoch, err)
	}
	// Nothing new but the dropped epoch still changes the record: it must
	// be stored, or the next write would reuse the actor.
	if next, changed, err := Merge(held, dvv.Set{VV: more.VV}, n1, FromNode, lim); err != nil || !changed || next.Epoch != 0 {
		t.Fatalf("an over-claim with nothing new: changed=%v epoch %d, %v; want changed, epoch 0", changed, next.Epoch, err)
	}
}

func TestLocalCodec(t *testing.T) {
	obj := mustCoordinate(t, dvv.Set{}, a, "v", nil)
	plain, err := dvv.EncodeSet(obj)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []Local{{}, {Object: obj}, {Object: obj, Epoch: 42}, {Object: obj, Epoch: math.MaxUint64}} {
		b, err := EncodeLocal(l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeLocal(b)
		if err != nil || got.Epoch != l.Epoch || !got.Object.Equal(l.Object) {
			t.Fatalf("round trip of epoch %d: %+v, %v", l.Epoch, got, err)
		}
		if l.Epoch == 0 && string(b) != string(mustEncode(t, l.Object)) {
			t.Fatal("a key without a key epoch is not stored as a plain set")
		}
	}
	if got, err := DecodeLocal(plain); err != nil || got.Epoch != 0 || !got.Object.Equal(obj) {
		t.Fatalf("a record from before key epochs: %+v, %v", got, err)
	}
	if got, err := DecodeLocal(nil); err != nil || got.Epoch != 0 || len(got.Object.Siblings) != 0 {
		t.Fatalf("an absent key: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{{storedMark}, {storedMark, 0, 0, 0, 0, 0, 0, 0, 1}, append([]byte{storedMark, 0, 0, 0, 0, 0, 0, 0, 0}, plain...)} {
		if _, err := DecodeLocal(bad); err == nil {
			t.Errorf("decoded % x", bad)
		}
	}
}

func mustEncode(t *testing.T, s dvv.Set) []byte {
	t.Helper()
	b, err := dvv.EncodeSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzDecodeLocal(f *testing.F) {
	obj := dvv.Set{}
	b, _ := EncodeLocal(Local{Object: obj, Epoch: 3})
	f.Add(b)
	f.Add([]byte{storedMark})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLocal(b)
		if err != nil {
			return
		}
		again, err := EncodeLocal(l)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		if back, err := DecodeLocal(again); err != nil || back.Epoch != l.Epoch || !back.Object.Equal(l.Object) {
			t.Fatalf("re-decode differs: %v", err)
		}
	})
}
