package wire

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// The anti-entropy exchange (Dynamo, SOSP 2007, §4.7): an initiator compares
// its hash tree of one partition with a peer replica's and descends only where
// hashes differ. Four requests, each answered by its OK:
//
//	ExchangeTop    → ExchangeTopOK    the peer's root and, unless the roots
//	                                  match, every branch hash (folded to the
//	                                  smaller of the two trees)
//	ExchangeLeaves → ExchangeLeavesOK the leaf hashes under some branches
//	ExchangeKeys   → ExchangeKeysOK   (key, hash) of the keys in some leaves,
//	                                  a page at a time
//	ExchangeClocks → ExchangeClocksOK the version vectors of the keys both
//	                                  sides hold differently (exchange_clocks.go)
//
// Repair then moves whole objects with the existing messages, each in the
// direction(s) the clocks call for (a DVV merge, never an overwrite). Tree parts travel as merkle.Part encodings
// (storaged/merkle), opaque here and decoded, bounded, by the receiver.
//
// Rules for the node that answers (its shell, not this package): only node
// certificates of current members may ask; a request for a partition the
// node does not replicate, or from a ring version other than its own, is
// refused (CodeMismatch), as is one while that partition's tree is being
// rebuilt (its hashes would cause false repairs).
//
// Every count is bounded, and the decoders check each declared count against
// its bound before allocating; errors about a bound wrap ErrTooLarge.
const (
	// MaxExchangeIDs is the most branch or leaf ids one request may name
	// (an initiator asks fewer, 128 by default, as Riak's MAX_RESULTS).
	MaxExchangeIDs = 1024
	// MaxExchangeKeys is the most key hashes one ExchangeKeysOK may carry.
	MaxExchangeKeys = 4096
	// ExchangeKeysBudget is the key bytes after which a peer ends a page of
	// key hashes (and sets More), so that a page of long keys stays far
	// under MaxFrame.
	ExchangeKeysBudget = 1 << 20
	// MaxExchangePart is the largest encoded tree part an answer may carry:
	// leaves of MaxExchangeIDs branches are 256 KiB plus their ids.
	MaxExchangePart = 1 << 20
)

// ExchangeTop opens the exchange of one partition: it asks for the peer's
// top level. Root is the initiator's root hash, which does not depend on a
// tree's size (every fold XORs the same leaves), so a peer with an equal
// root answers with no part. Leaves is the initiator's tree size: a larger
// peer folds its top to it.
type ExchangeTop struct {
	_msgpack    struct{} `msgpack:",as_array"`
	Partition   uint32
	RingVersion uint64
	Leaves      uint32
	Root        uint32
}

// ExchangeTopOK answers ExchangeTop: the peer's tree size and root, and,
// when the roots differ, Part: every branch hash of the peer's tree folded to
// min(Leaves, ExchangeTop.Leaves), a complete merkle.LevelBranch part.
type ExchangeTopOK struct {
	_msgpack struct{} `msgpack:",as_array"`
	Leaves   uint32
	Root     uint32
	Part     ExchangePart
}

// ExchangeLeaves asks for the leaf hashes under Branches (sorted strictly,
// at most MaxExchangeIDs) of the peer's tree folded to Leaves leaves (the
// size the tops were compared at).
type ExchangeLeaves struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Partition uint32
	Leaves    uint32
	Branches  ExchangeIDs
}

// ExchangeLeavesOK answers ExchangeLeaves with a merkle.LevelLeaf part of
// exactly the leaves under the branches asked.
type ExchangeLeavesOK struct {
	_msgpack struct{} `msgpack:",as_array"`
	Part     ExchangePart
}

// ExchangeKeys asks for (key, merkle.Hash(key, object)) of every key the
// peer holds in the partition whose leaf in a tree of Leaves leaves
// (merkle.LeafOf) is one of LeafIDs (sorted strictly, at most
// MaxExchangeIDs), in ascending key order, starting after the key After
// (empty: from the start), at most Max of them (0 or more than
// MaxExchangeKeys: MaxExchangeKeys).
type ExchangeKeys struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Partition uint32
	Leaves    uint32
	LeafIDs   ExchangeIDs
	After     ExchangeKey
	Max       uint32
}

// ExchangeKeysOK is one page of an ExchangeKeys answer: key hashes in
// ascending key order, each key after the request's After. More says the
// page ended at a bound (Max, MaxExchangeKeys or ExchangeKeysBudget) and the
// next page starts after its last key; a page with More carries at least one
// key.
type ExchangeKeysOK struct {
	_msgpack struct{} `msgpack:",as_array"`
	Keys     KeyHashes
	More     bool
}

// ExchangeIDs are branch or leaf ids; decoding refuses more than
// MaxExchangeIDs before allocating. Empty decodes as nil.
type ExchangeIDs []uint32

// DecodeMsgpack implements msgpack.CustomDecoder.
func (x *ExchangeIDs) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := exchangeList(d, "exchange ids", MaxExchangeIDs)
	if err != nil || n == 0 {
		*x = nil
		return err
	}
	ids := make(ExchangeIDs, n)
	for i := range ids {
		if ids[i], err = d.DecodeUint32(); err != nil {
			return fmt.Errorf("%w: exchange id %d: %w", ErrBadRequest, i, err)
		}
	}
	*x = ids
	return nil
}

// ExchangePart is an encoded merkle.Part; decoding refuses more than
// MaxExchangePart bytes before allocating. Empty decodes as nil.
type ExchangePart []byte

// DecodeMsgpack implements msgpack.CustomDecoder.
func (x *ExchangePart) DecodeMsgpack(d *msgpack.Decoder) error {
	b, err := exchangeBin(d, "exchange part", MaxExchangePart)
	*x = b
	return err
}

// ExchangeKey is a continuation cursor: the last key of the previous page;
// decoding refuses more than 32,766 bytes (the largest key any node may be
// configured to accept) before allocating. Empty decodes as nil.
type ExchangeKey []byte

// DecodeMsgpack implements msgpack.CustomDecoder.
func (x *ExchangeKey) DecodeMsgpack(d *msgpack.Decoder) error {
	b, err := exchangeBin(d, "cursor", maxKeyCeiling)
	*x = b
	return err
}

// KeyHash is one key of a partition and the hash of the object it holds
// there (merkle.Hash).
type KeyHash struct {
	Key  []byte
	Hash uint64
}

// KeyHashes encode as an array of [key bin, hash uint] pairs; decoding
// refuses more than MaxExchangeKeys pairs or a key that is empty or over 32
// KiB (the largest key any node may be configured to accept) before
// allocating. Empty decodes as nil.
type KeyHashes []KeyHash

// EncodeMsgpack implements msgpack.CustomEncoder.
func (ks KeyHashes) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeArrayLen(len(ks)); err != nil {
		return err
	}
	for _, k := range ks {
		if err := e.EncodeArrayLen(2); err != nil {
			return err
		}
		if err := e.EncodeBytes(k.Key); err != nil {
			return err
		}
		if err := e.EncodeUint(k.Hash); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (ks *KeyHashes) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := exchangeList(d, "key hashes", MaxExchangeKeys)
	if err != nil || n == 0 {
		*ks = nil
		return err
	}
	out := make(KeyHashes, n)
	for i := range out {
		if m, err := d.DecodeArrayLen(); err != nil || m != 2 {
			return fmt.Errorf("%w: key hash %d: want a pair, found %d fields (%v)", ErrBadRequest, i, m, err)
		}
		key, err := exchangeBin(d, "key", maxKeyCeiling)
		if err != nil {
			return err
		}
		if len(key) == 0 {
			return fmt.Errorf("%w: key hash %d: empty key", ErrBadRequest, i)
		}
		h, err := d.DecodeUint64()
		if err != nil {
			return fmt.Errorf("%w: key hash %d: %w", ErrBadRequest, i, err)
		}
		out[i] = KeyHash{Key: key, Hash: h}
	}
	*ks = out
	return nil
}

// exchangeList reads an array header of at most limit elements (nil: 0).
func exchangeList(d *msgpack.Decoder, what string, limit int) (int, error) {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrBadRequest, what, err)
	}
	if n > limit {
		return 0, fmt.Errorf("%w: %s: %d entries, limit %d", ErrTooLarge, what, n, limit)
	}
	return max(n, 0), nil
}

// exchangeBin reads a bin of at most limit bytes (nil or empty: nil),
// checking the length before allocating.
func exchangeBin(d *msgpack.Decoder, what string, limit int) ([]byte, error) {
	n, err := d.DecodeBytesLen()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadRequest, what, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrTooLarge, what, n, limit)
	}
	if n <= 0 {
		return nil, nil
	}
	b := make([]byte, n)
	if err := d.ReadFull(b); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadRequest, what, err)
	}
	return b, nil
}
