package merkle

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

// exchangeCost is what finding the differing keys of two replicas costs in
// metadata, counted as encoded.
type exchangeCost struct {
	treeBytes int // parts of the tree: tops, branches, leaves
	keyBytes  int // key-level hashes of the keys in the differing leaves (estimate)
	rtts      int
	leaves    []int // the differing leaves found
}

// exchange runs the descent an exchange between initiator a and peer b would
// run, counting the bytes of every part sent. keysIn[i] is the number of keys
// in leaf i (on either side), for the key-level estimate: per key an 8-byte
// key hash and an 8-byte Hash, from both sides.
func exchange(t testing.TB, a, b *Tree, keysIn []int) exchangeCost {
	var c exchangeCost
	send := func(p Part, err error) Part {
		if err != nil {
			t.Fatal(err)
		}
		enc, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		c.treeBytes += len(enc)
		back, err := DecodePart(enc)
		if err != nil {
			t.Fatal(err)
		}
		return back
	}
	diff := func(tr *Tree, p Part) []int {
		ids, err := tr.DiffPart(p)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	// RTT 1: a's top level; b answers with its hashes of the branches that differ.
	branches := diff(b, send(a.Top(), nil))
	branches = diff(a, send(b.BranchPart(branches)))
	// RTT 2: a asks for those branches' leaves (sending its own hashes of
	// them); b answers with their leaves.
	send(a.BranchPart(branches))
	c.leaves = diff(a, send(b.LeafPart(branches)))
	// RTT 3: a names the differing leaves; both sides exchange key hashes.
	send(a.LeavesPart(c.leaves))
	for _, l := range c.leaves {
		c.keyBytes += 2 * 16 * keysIn[l]
	}
	c.rtts = 3 // plus the repair itself: the objects that differ
	return c
}

// TestExchangeBytes1M measures the metadata an exchange sends to find 100
// differing keys between two replicas of a 1,000,000-key partition (the
// target of issue 10: at most 64 KiB in at most 4 round trips; Riak's tictac
// exchange needs about 460 KiB).
func TestExchangeBytes1M(t *testing.T) {
	const keys, differ = 1_000_000, 100
	leaves := LeavesFor(keys)
	obj, _ := dvv.Set{}.Update(actorA, nil, []byte("v"), false)
	newer, _ := obj.Update(actorB, obj.VV, []byte("w"), false)
	a := mustNew(t, leaves)
	keysIn := make([]int, leaves)
	key := make([]byte, 0, 16)
	for i := range keys {
		key = appendKey(key[:0], i)
		a.Apply(key, Hash(key, obj))
		keysIn[LeafOf(key, leaves)]++
	}
	b := a.Clone()
	r := rand.New(rand.NewPCG(100, 1))
	var want []int
	for n, i := range r.Perm(keys)[:differ] {
		key = appendKey(key[:0], i)
		if n%3 == 0 {
			b.Apply(key, Hash(key, obj)) // b missed the key
		} else {
			b.Apply(key, Hash(key, obj)^Hash(key, newer))
		}
		want = append(want, LeafOf(key, leaves))
	}
	slices.Sort(want)
	want = slices.Compact(want)

	c := exchange(t, a, b, keysIn)
	if !slices.Equal(c.leaves, want) {
		t.Fatalf("found leaves %v, want %v", c.leaves, want)
	}
	total := c.treeBytes + c.keyBytes
	t.Logf("1,000,000 keys, %d leaves, %d differing keys in %d leaves: tree parts %d B, key hashes %d B, total %d B (%.1f KiB) in %d round trips + repair",
		leaves, differ, len(c.leaves), c.treeBytes, c.keyBytes, total, float64(total)/1024, c.rtts)
	if total > 64<<10 || c.rtts+1 > 4 {
		t.Fatalf("exchange costs %d B in %d round trips, target 65536 B in 4", total, c.rtts+1)
	}
}

// TestExchangeBytesNegativeControl: equal trees cost only the top level, and
// the descent finds nothing.
func TestExchangeBytesNegativeControl(t *testing.T) {
	a := filledTree(t, MaxLeaves, 1000)
	c := exchange(t, a, a.Clone(), make([]int, MaxLeaves))
	if len(c.leaves) != 0 || c.keyBytes != 0 || c.treeBytes != 16_391+4*4 {
		t.Fatalf("equal trees: %+v", c)
	}
}

func appendKey(b []byte, i int) []byte {
	b = append(b, "user"...)
	for d := 1_000_000_000; d > 0; d /= 10 {
		b = append(b, byte('0'+i/d%10))
	}
	return b
}

// BenchmarkRebuild measures a tree rebuild: Hash and Apply per key, objects
// of one 1 KiB value and a three-entry clock, into a 2^18-leaf tree.
func BenchmarkRebuild(b *testing.B) {
	val := make([]byte, 1024)
	for i := range val {
		val[i] = byte(i * 7)
	}
	obj, _ := dvv.Set{}.Update(actorA, nil, nil, false)
	obj, _ = obj.Update(actorB, obj.VV, nil, false)
	obj, _ = obj.Update(actorC, obj.VV, val, false)
	tr := mustNew(b, MaxLeaves)
	key := make([]byte, 0, 16)
	b.SetBytes(int64(len(val)))
	i := 0
	for b.Loop() {
		key = appendKey(key[:0], i)
		tr.Apply(key, Hash(key, obj))
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}

// BenchmarkApply measures applying a precomputed delta: the tree upkeep a
// committed write costs.
func BenchmarkApply(b *testing.B) {
	tr := mustNew(b, MaxLeaves)
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = appendKey(nil, i)
	}
	i := 0
	for b.Loop() {
		tr.Apply(keys[i%len(keys)], uint64(i))
		i++
	}
}

// BenchmarkFold measures folding a 2^18-leaf tree to 2^16 leaves, what a peer
// of a smaller tree costs an exchange.
func BenchmarkFold(b *testing.B) {
	tr := filledTree(b, MaxLeaves, 10_000)
	for b.Loop() {
		if _, err := tr.Fold(MaxLeaves / 4); err != nil {
			b.Fatal(err)
		}
	}
}
