package wire

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Gossip of the cluster state among storage nodes (Dynamo §4.8: every
// second a node reconciles its membership view with a random peer). A round
// is at most two round trips:
//
//	Gossip{digest}         → GossipOK{digest, state if the digests differ}
//	Gossip{digest, state}  → GossipOK{digest, state if they still differ}
//
// The first pulls the peer's state when the digests differ; the initiator
// merges it, and pushes the merge back when it holds something the peer
// lacks. States travel as the bytes of ringsync/member's canonical encoding,
// which the receiver decodes with member.Decode (bounded); this package
// bounds only their length. Both requests are node-to-node.

// MaxGossipState bounds the encoded state one Gossip or GossipOK carries:
// a state of the largest ring (ring.MaxPartitions owners) and a hundred
// members takes well under a quarter of it.
const MaxGossipState = 1 << 20

// GossipDigest is a state's summary (member.Digest): its ring version and
// the first 16 bytes of the SHA-256 of its encoding. Equal digests mean
// equal states; the zero digest means "no state".
type GossipDigest struct {
	_msgpack struct{} `msgpack:",as_array"`
	Version  uint64
	Hash     GossipHash
}

// GossipHash is a digest's hash, encoded as a bin of exactly 16 bytes.
type GossipHash [16]byte

// EncodeMsgpack implements msgpack.CustomEncoder.
func (h GossipHash) EncodeMsgpack(e *msgpack.Encoder) error { return e.EncodeBytes(h[:]) }

// DecodeMsgpack implements msgpack.CustomDecoder.
func (h *GossipHash) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := d.DecodeBytesLen()
	if err != nil {
		return fmt.Errorf("%w: digest hash: %w", ErrBadRequest, err)
	}
	if n != len(h) {
		return fmt.Errorf("%w: digest hash of %d bytes, want %d", ErrBadRequest, n, len(h))
	}
	return d.ReadFull(h[:])
}

// GossipState is an encoded cluster state (member.Encode), at most
// MaxGossipState bytes; decoding checks the length before allocating. Empty
// means none and decodes as nil.
type GossipState []byte

// EncodeMsgpack implements msgpack.CustomEncoder.
func (s GossipState) EncodeMsgpack(e *msgpack.Encoder) error { return e.EncodeBytes(s) }

// DecodeMsgpack implements msgpack.CustomDecoder.
func (s *GossipState) DecodeMsgpack(d *msgpack.Decoder) error {
	b, err := exchangeBin(d, "gossip state", MaxGossipState)
	*s = b
	return err
}

// Gossip offers the sender's digest and, optionally, its full state for
// the receiver to merge.
type Gossip struct {
	_msgpack struct{} `msgpack:",as_array"`
	Digest   GossipDigest
	State    GossipState
}

// GossipOK answers Gossip with the receiver's digest after merging what it
// was sent, and its full state when that digest differs from the sender's.
type GossipOK struct {
	_msgpack struct{} `msgpack:",as_array"`
	Digest   GossipDigest
	State    GossipState
}
