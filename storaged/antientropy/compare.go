package antientropy

import (
	"bytes"
	"slices"

	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
)

// onTop compares the peer's top level with ours (step 1).
func (x *Exchange) onTop(ok *wire.ExchangeTopOK) error {
	peer := int(ok.Leaves)
	if !merkle.ValidSize(peer) {
		return malformedf("top: peer tree of %d leaves, want a power of two in [%d, %d]",
			ok.Leaves, merkle.MinLeaves, merkle.MaxLeaves)
	}
	if len(ok.Part) == 0 {
		if ok.Root != x.local.Root() {
			return malformedf("top: peer root %08x differs from ours %08x but no top came", ok.Root, x.local.Root())
		}
		x.equal = true
		return nil // equal roots: nothing to repair
	}
	p, err := merkle.DecodePart(ok.Part)
	if err != nil {
		return malformedf("top: %w", err)
	}
	want := min(peer, x.local.Size())
	if p.Level != merkle.LevelBranch || p.Leaves != want || !p.Complete() {
		return malformedf("top: %d %s hashes of a %d-leaf tree, want all %d branch hashes of %d leaves",
			len(p.IDs), p.Level, p.Leaves, want/merkle.BranchWidth, want)
	}
	var root uint32
	for _, h := range p.Hashes {
		root ^= h
	}
	if root != ok.Root {
		return malformedf("top: branch hashes XOR to %08x, the peer's root is %08x", root, ok.Root)
	}
	x.size = want
	diff, err := x.local.DiffPart(p)
	if err != nil {
		return malformedf("top: %w", err)
	}
	x.stats.Branches += len(p.IDs)
	x.stats.BranchesDiffer += len(diff)
	x.branches = diff
	return nil
}

// onLeaves compares the leaves of the branches asked (step 2).
func (x *Exchange) onLeaves(ok *wire.ExchangeLeavesOK) error {
	p, err := merkle.DecodePart(ok.Part)
	if err != nil {
		return malformedf("leaves: %w", err)
	}
	n := len(x.asked) * merkle.BranchWidth
	if p.Level != merkle.LevelLeaf || p.Leaves != x.size || len(p.IDs) != n {
		return malformedf("leaves: %d %s hashes of a %d-leaf tree, want %d leaf hashes of %d leaves",
			len(p.IDs), p.Level, p.Leaves, n, x.size)
	}
	for i, id := range p.IDs {
		if want := x.asked[i/merkle.BranchWidth]*merkle.BranchWidth + i%merkle.BranchWidth; id != want {
			return malformedf("leaves: leaf %d at %d, want leaf %d (under the branches asked)", id, i, want)
		}
	}
	diff, err := x.local.DiffPart(p)
	if err != nil {
		return malformedf("leaves: %w", err)
	}
	x.stats.Leaves += n
	x.stats.LeavesDiffer += len(diff)
	x.leaves = append(x.leaves, diff...)
	x.asked = nil
	return nil
}

// onPage checks a page of the peer's key hashes and compares it once the
// local scan is in (step 3).
func (x *Exchange) onPage(ok *wire.ExchangeKeysOK) error {
	if len(ok.Keys) > x.cfg.MaxKeys {
		return malformedf("keys: a page of %d keys, asked at most %d", len(ok.Keys), x.cfg.MaxKeys)
	}
	if ok.More && len(ok.Keys) == 0 {
		return malformedf("keys: an empty page says more follow")
	}
	prev := x.cursor
	for i, k := range ok.Keys {
		if len(k.Key) > x.cfg.MaxKey {
			return malformedf("keys: key %d is %d bytes, limit %d", i, len(k.Key), x.cfg.MaxKey)
		}
		if prev != nil && bytes.Compare(k.Key, prev) <= 0 {
			return malformedf("keys: key %d (%q) not after %q", i, k.Key, prev)
		}
		if leaf := merkle.LeafOf(k.Key, x.size); !x.round.has(leaf) {
			return malformedf("keys: key %d (%q) is in leaf %d, not asked", i, k.Key, leaf)
		}
		prev = k.Key
	}
	x.page = ok
	if x.scanning {
		return nil
	}
	return x.compare()
}

// compare merges the page in with the local keys (step 4): a key on one side
// only is to repair at once, towards the side that lacks it; one both sides
// hold with different hashes waits for its clocks.
func (x *Exchange) compare() error {
	pg := x.page
	x.page = nil
	for _, k := range pg.Keys {
		for x.li < len(x.localKeys) && bytes.Compare(x.localKeys[x.li].Key, k.Key) < 0 {
			x.repair(x.localKeys[x.li].Key, false, true)
			x.li++
		}
		switch {
		case x.li < len(x.localKeys) && bytes.Equal(x.localKeys[x.li].Key, k.Key):
			x.stats.Keys++
			if l := x.localKeys[x.li]; l.Hash != k.Hash {
				x.stats.KeysDiffer++
				x.unclear = append(x.unclear, unclear{key: k.Key, theirs: k.Hash, vv: l.VV})
				x.unclearBytes += len(k.Key)
			}
			x.li++
		default:
			x.repair(k.Key, true, false)
		}
	}
	if pg.More {
		x.cursor = pg.Keys[len(pg.Keys)-1].Key
		return nil
	}
	for ; x.li < len(x.localKeys); x.li++ {
		x.repair(x.localKeys[x.li].Key, false, true)
	}
	x.round, x.localKeys = nil, nil
	return nil
}

// repair hands out a key one side lacks.
func (x *Exchange) repair(key []byte, fetch, push bool) {
	x.stats.Keys++
	x.stats.KeysDiffer++
	x.move(key, fetch, push)
}

// move hands out key to fetch, to push, or both.
func (x *Exchange) move(key []byte, fetch, push bool) {
	if fetch {
		x.stats.Fetch++
		x.out.Fetch = append(x.out.Fetch, key)
	}
	if push {
		x.stats.Push++
		x.out.Push = append(x.out.Push, key)
	}
}

// Scan asks the shell for this node's key hashes and clocks (key,
// merkle.Hash(key, object), object's version vector) of every key of the
// partition whose leaf in a tree of Leaves leaves is one of IDs (sorted
// strictly); Want filters a scan.
type Scan struct {
	Leaves int
	IDs    []int
}

// Want reports whether key belongs to the scan.
func (s *Scan) Want(key []byte) bool {
	return leafSet(s.IDs).has(merkle.LeafOf(key, s.Leaves))
}

// leafSet is a sorted set of leaf ids.
type leafSet []int

func (s leafSet) has(leaf int) bool {
	_, ok := slices.BinarySearch(s, leaf)
	return ok
}

// sortLocal checks and sorts the shell's scan of s at size leaves.
func (s leafSet) sortLocal(keys []LocalKey, leaves int) ([]LocalKey, error) {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b LocalKey) int { return bytes.Compare(a.Key, b.Key) })
	for i, k := range keys {
		if len(k.Key) == 0 {
			return nil, localf("an empty key")
		}
		if leaf := merkle.LeafOf(k.Key, leaves); !s.has(leaf) {
			return nil, localf("key %q is in leaf %d, not asked", k.Key, leaf)
		}
		if i > 0 && bytes.Equal(keys[i-1].Key, k.Key) {
			return nil, localf("key %q twice", k.Key)
		}
		if err := k.VV.Validate(); err != nil {
			return nil, localf("key %q: %w", k.Key, err)
		}
	}
	return keys, nil
}
