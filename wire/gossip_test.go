package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/shoalkv/shoal/wire"
)

// TestGossipBounds: a state over MaxGossipState is refused as too large, one
// that declares more bytes than the frame holds as a bad request, a hash of
// the wrong length as a bad request; the control, a state of exactly
// MaxGossipState bytes, decodes to the same bytes.
func TestGossipBounds(t *testing.T) {
	digest := msgpack.RawMessage{0x92, 0x03, 0xc4, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	if err := wire.Decode(exchangeBody(t, digest, rawBin(make([]byte, wire.MaxGossipState+1))), new(wire.Gossip)); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("oversized state: err = %v, want ErrTooLarge", err)
	}
	absent := msgpack.RawMessage{0xc6, 0x00, 0x10, 0x00, 0x00} // bin32 of MaxGossipState bytes, none present
	if err := wire.Decode(exchangeBody(t, digest, absent), new(wire.Gossip)); !errors.Is(err, wire.ErrBadRequest) {
		t.Errorf("truncated state: err = %v, want ErrBadRequest", err)
	}
	short := msgpack.RawMessage{0x92, 0x03, 0xc4, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	if err := wire.Decode(exchangeBody(t, short, rawBin(nil)), new(wire.GossipOK)); !errors.Is(err, wire.ErrBadRequest) {
		t.Errorf("15-byte hash: err = %v, want ErrBadRequest", err)
	}
	in := &wire.GossipOK{Digest: wire.GossipDigest{Version: 3, Hash: wire.GossipHash{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		State: bytes.Repeat([]byte{0xab}, wire.MaxGossipState)}
	body, err := wire.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var got wire.GossipOK
	if err := wire.Decode(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Digest != in.Digest || !bytes.Equal(got.State, in.State) {
		t.Error("a state of MaxGossipState bytes did not survive decoding")
	}
}
