package wire

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/shoalkv/shoal/wire/dvv"
)

// The exchange's fourth request, after the key listing: the key hashes of
// two replicas tell which keys differ but not which side is newer, so the
// initiator asks for the version vectors of the keys both sides hold
// differently, compares them with its own and moves each object only in the
// direction(s) needed:
//
//	ExchangeClocks → ExchangeClocksOK the peer's version vector of each key
//	                                  asked, a prefix at a time
//
// Keys one side lacks need no clock: the side that lacks them just receives.
const (
	// MaxExchangeClocks is the most keys one ExchangeClocks may name, and
	// the most version vectors one ExchangeClocksOK may carry.
	MaxExchangeClocks = 4096
	// ExchangeClocksBudget is the encoded version-vector bytes after which
	// a peer ends its answer (a prefix of the keys asked, at least one), so
	// that an answer of long clocks stays far under MaxFrame. An initiator
	// keeps the key bytes of one request under ExchangeKeysBudget.
	ExchangeClocksBudget = 1 << 20
)

// ExchangeClocks asks for the version vectors of Keys (sorted strictly,
// each of partition Partition, at most MaxExchangeClocks) as the peer
// stores them.
type ExchangeClocks struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Partition uint32
	Keys      ExchangeKeyList
}

// ExchangeClocksOK answers ExchangeClocks: Clocks[i] is the version vector
// of the peer's object of Keys[i], empty when the peer holds none (or one it
// cannot decode). It answers a prefix of the keys asked, at least one when
// any were asked: the peer ends it at ExchangeClocksBudget, and the
// initiator asks again for the rest.
type ExchangeClocksOK struct {
	_msgpack struct{} `msgpack:",as_array"`
	Clocks   ExchangeVVs
}

// ExchangeKeyList is a list of keys; decoding refuses more than
// MaxExchangeClocks keys, or a key that is empty or over 32,766 bytes (the
// largest key any node may be configured to accept), before allocating.
// Empty decodes as nil.
type ExchangeKeyList [][]byte

// EncodeMsgpack implements msgpack.CustomEncoder.
func (ks ExchangeKeyList) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeArrayLen(len(ks)); err != nil {
		return err
	}
	for _, k := range ks {
		if err := e.EncodeBytes(k); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (ks *ExchangeKeyList) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := exchangeList(d, "keys", MaxExchangeClocks)
	if err != nil || n == 0 {
		*ks = nil
		return err
	}
	out := make(ExchangeKeyList, n)
	for i := range out {
		if out[i], err = exchangeBin(d, "key", maxKeyCeiling); err != nil {
			return err
		}
		if len(out[i]) == 0 {
			return fmt.Errorf("%w: key %d: empty", ErrBadRequest, i)
		}
	}
	*ks = out
	return nil
}

// ExchangeVVs is a list of version vectors, each encoded as dvv encodes one
// (an empty one as an empty array); decoding refuses more than
// MaxExchangeClocks of them before allocating, and each is decoded and
// validated by package dvv. Empty decodes as nil, and so does each empty
// version vector.
type ExchangeVVs []dvv.VV

// EncodeMsgpack implements msgpack.CustomEncoder.
func (vs ExchangeVVs) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeArrayLen(len(vs)); err != nil {
		return err
	}
	for _, v := range vs {
		if err := v.EncodeMsgpack(e); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (vs *ExchangeVVs) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := exchangeList(d, "clocks", MaxExchangeClocks)
	if err != nil || n == 0 {
		*vs = nil
		return err
	}
	out := make(ExchangeVVs, n)
	for i := range out {
		if err := out[i].DecodeMsgpack(d); err != nil {
			return fmt.Errorf("clock %d: %w", i, err)
		}
	}
	*vs = out
	return nil
}
