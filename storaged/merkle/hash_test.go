package merkle

import (
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

func TestHashAbsentIsZero(t *testing.T) {
	for _, s := range []dvv.Set{{}, {Siblings: []dvv.Sibling{}, VV: dvv.VV{}}} {
		if h := Hash([]byte("k"), s); h != 0 {
			t.Errorf("Hash of an absent object = %#x, want 0", h)
		}
	}
	if Hash([]byte("k"), sampleSet()) == 0 {
		t.Error("Hash of a present object is 0")
	}
}

// TestHashCovers changes one thing of an object at a time; every change must
// change the hash, and an identical deep copy must not.
func TestHashCovers(t *testing.T) {
	key := []byte("key")
	base := sampleSet()
	if len(base.Siblings) != 3 || !base.Siblings[1].Tombstone || base.Siblings[0].Tombstone || len(base.VV) != 3 {
		t.Fatalf("sampleSet changed shape: %+v", base)
	}
	cases := []struct {
		name   string
		change func(s *dvv.Set, key *[]byte)
		same   bool
	}{
		{name: "identical copy", change: func(*dvv.Set, *[]byte) {}, same: true},
		{name: "value in a new array", same: true, change: func(s *dvv.Set, _ *[]byte) {
			s.Siblings[2].Value = append([]byte(nil), "world"...)
		}},
		{name: "one value byte", change: func(s *dvv.Set, _ *[]byte) { s.Siblings[0].Value[2] ^= 1 }},
		{name: "a tombstone's value byte", change: func(s *dvv.Set, _ *[]byte) { s.Siblings[1].Value[0] ^= 0x80 }},
		{name: "value length", change: func(s *dvv.Set, _ *[]byte) { s.Siblings[0].Value = append(s.Siblings[0].Value, 0) }},
		{name: "dot counter", change: func(s *dvv.Set, _ *[]byte) { s.Siblings[0].Dot.Counter++ }},
		{name: "dot epoch", change: func(s *dvv.Set, _ *[]byte) { s.Siblings[0].Dot.Actor.Epoch++ }},
		{name: "dot node", change: func(s *dvv.Set, _ *[]byte) { s.Siblings[0].Dot.Actor.Node = "n9" }},
		{name: "tombstone flag set", change: func(s *dvv.Set, _ *[]byte) { s.Siblings[0].Tombstone = true }},
		{name: "tombstone flag cleared", change: func(s *dvv.Set, _ *[]byte) { s.Siblings[1].Tombstone = false }},
		{name: "vv counter", change: func(s *dvv.Set, _ *[]byte) { s.VV[1].Counter++ }},
		{name: "vv epoch", change: func(s *dvv.Set, _ *[]byte) { s.VV[2].Actor.Epoch++ }},
		{name: "vv entry added", change: func(s *dvv.Set, _ *[]byte) {
			s.VV = append(s.VV, dvv.Entry{Actor: dvv.Actor{Node: "n4", Epoch: 1}, Counter: 1})
		}},
		{name: "vv entry removed", change: func(s *dvv.Set, _ *[]byte) { s.VV = s.VV[:len(s.VV)-1] }},
		{name: "sibling removed", change: func(s *dvv.Set, _ *[]byte) { s.Siblings = s.Siblings[1:] }},
		{name: "key byte", change: func(_ *dvv.Set, k *[]byte) { *k = []byte("kez") }},
		{name: "key extended", change: func(_ *dvv.Set, k *[]byte) { *k = []byte("key\x00") }},
	}
	want := Hash(key, base)
	for _, c := range cases {
		s, k := cloneSet(base), []byte(string(key))
		c.change(&s, &k)
		if got := Hash(k, s); (got == want) != c.same {
			t.Errorf("%s: hash %#x vs base %#x, want same=%v", c.name, got, want, c.same)
		}
	}
}

// TestHashFieldBoundaries checks that the length prefixes keep fields apart:
// moving bytes between the key and an actor node, or between two nodes,
// changes the hash.
func TestHashFieldBoundaries(t *testing.T) {
	one := func(node string) dvv.Set {
		s, _ := dvv.Set{}.Update(dvv.Actor{Node: node, Epoch: 1}, nil, []byte("v"), false)
		return s
	}
	if Hash([]byte("ab"), one("c")) == Hash([]byte("a"), one("bc")) {
		t.Error("key/node boundary not hashed")
	}
	if Hash([]byte("k"), one("n1")) == Hash([]byte("k"), one("n10")) {
		t.Error("node length not hashed")
	}
}

// TestHashStable pins the hash of a fixed object: a change here is a format
// change that makes every stored tree and every peer's tree disagree.
func TestHashStable(t *testing.T) {
	const want = 0x19328561759087ea
	if got := Hash([]byte("key"), sampleSet()); got != want {
		t.Errorf("Hash(key, sampleSet()) = %#x, want %#x", got, uint64(want))
	}
	if got := LeafOf([]byte("key"), MaxLeaves); got != 45714 {
		t.Errorf("LeafOf(key, MaxLeaves) = %d, want %d", got, 45714)
	}
}
