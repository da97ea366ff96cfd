package antientropy

import (
	"bytes"
	"fmt"

	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
)

// The peer's side: pure builders of the answers from the peer's tree of the
// partition and a scan of its store. The shell checks first that it may
// answer at all (see the package doc). Errors wrap wire.ErrBadRequest, so
// the shell answers them with wire.CodeOf.

// AnswerTop answers req from t: t's size and root and, unless the roots are
// equal, every branch hash of t folded to min(t.Size(), req.Leaves).
func AnswerTop(t *merkle.Tree, req *wire.ExchangeTop) (*wire.ExchangeTopOK, error) {
	if err := checkSize(req.Leaves); err != nil {
		return nil, err
	}
	ok := &wire.ExchangeTopOK{Leaves: uint32(t.Size()), Root: t.Root()}
	if req.Root == ok.Root {
		return ok, nil
	}
	top := t.Top()
	if to := int(req.Leaves); to < t.Size() {
		var err error
		if top, err = top.Fold(to); err != nil {
			panic(fmt.Sprintf("antientropy: fold a complete top to %d: %v", to, err)) // sizes checked above
		}
	}
	b, err := top.Encode()
	if err != nil {
		panic(fmt.Sprintf("antientropy: encode a tree's top: %v", err))
	}
	ok.Part = b
	return ok, nil
}

// AnswerLeaves answers req from t: the hashes of the leaves under
// req.Branches of t folded to req.Leaves (no larger than t).
func AnswerLeaves(t *merkle.Tree, req *wire.ExchangeLeaves) (*wire.ExchangeLeavesOK, error) {
	size := int(req.Leaves)
	if err := checkSize(req.Leaves); err != nil {
		return nil, err
	}
	if size > t.Size() {
		return nil, fmt.Errorf("%w: leaves of a %d-leaf tree asked of one of %d", wire.ErrBadRequest, size, t.Size())
	}
	if err := checkIDs("branch", req.Branches, size/merkle.BranchWidth); err != nil {
		return nil, err
	}
	n := len(req.Branches) * merkle.BranchWidth
	p := merkle.Part{Leaves: size, Level: merkle.LevelLeaf, IDs: make([]int, 0, n), Hashes: make([]uint32, 0, n)}
	for _, br := range req.Branches {
		for i := int(br) * merkle.BranchWidth; i < int(br+1)*merkle.BranchWidth; i++ {
			var h uint32
			for j := i; j < t.Size(); j += size {
				h ^= t.Leaf(j)
			}
			p.IDs, p.Hashes = append(p.IDs, i), append(p.Hashes, h)
		}
	}
	b, err := p.Encode()
	if err != nil {
		panic(fmt.Sprintf("antientropy: encode leaves: %v", err))
	}
	return &wire.ExchangeLeavesOK{Part: b}, nil
}

// Page builds one page of an ExchangeKeys answer while the shell scans the
// partition in ascending key order: for each key, if Want, Add its hash;
// once Add reports the page full, answer OK(true); at the scan's end,
// OK(false).
type Page struct {
	leaves int
	ids    leafSet
	after  []byte
	max    int
	bytes  int
	keys   wire.KeyHashes
}

// NewPage checks req and starts its page.
func NewPage(req *wire.ExchangeKeys) (*Page, error) {
	if err := checkSize(req.Leaves); err != nil {
		return nil, err
	}
	if err := checkIDs("leaf", req.LeafIDs, int(req.Leaves)); err != nil {
		return nil, err
	}
	ids := make(leafSet, len(req.LeafIDs))
	for i, id := range req.LeafIDs {
		ids[i] = int(id)
	}
	m := int(req.Max)
	if m <= 0 || m > wire.MaxExchangeKeys {
		m = wire.MaxExchangeKeys
	}
	return &Page{leaves: int(req.Leaves), ids: ids, after: req.After, max: m}, nil
}

// Want reports whether key belongs in the page: after the request's cursor
// and in one of its leaves.
func (p *Page) Want(key []byte) bool {
	return (len(p.after) == 0 || bytes.Compare(key, p.after) > 0) && p.ids.has(merkle.LeafOf(key, p.leaves))
}

// Add appends key (wanted, after the previous key) and its hash, and reports
// whether the page is full: at its count or wire.ExchangeKeysBudget bytes.
// The page keeps key.
func (p *Page) Add(key []byte, hash uint64) (full bool) {
	p.keys = append(p.keys, wire.KeyHash{Key: key, Hash: hash})
	p.bytes += len(key)
	return len(p.keys) >= p.max || p.bytes >= wire.ExchangeKeysBudget
}

// OK returns the page; more says the scan stopped because the page was full.
func (p *Page) OK(more bool) *wire.ExchangeKeysOK {
	return &wire.ExchangeKeysOK{Keys: p.keys, More: more && len(p.keys) > 0}
}

func checkSize(leaves uint32) error {
	if !merkle.ValidSize(int(leaves)) {
		return fmt.Errorf("%w: tree of %d leaves, want a power of two in [%d, %d]",
			wire.ErrBadRequest, leaves, merkle.MinLeaves, merkle.MaxLeaves)
	}
	return nil
}

func checkIDs(what string, ids wire.ExchangeIDs, width int) error {
	if len(ids) > wire.MaxExchangeIDs {
		return fmt.Errorf("%w: %d %s ids, limit %d", wire.ErrTooLarge, len(ids), what, wire.MaxExchangeIDs)
	}
	for i, id := range ids {
		if int(id) >= width {
			return fmt.Errorf("%w: %s id %d out of range [0, %d)", wire.ErrBadRequest, what, id, width)
		}
		if i > 0 && ids[i-1] >= id {
			return fmt.Errorf("%w: %s id %d at %d not after %d", wire.ErrBadRequest, what, id, i, ids[i-1])
		}
	}
	return nil
}
