package wire_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// rawList encodes n copies of item (already encoded) as a msgpack array.
func rawList(n int, item []byte) msgpack.RawMessage {
	var buf bytes.Buffer
	_ = msgpack.NewEncoder(&buf).EncodeArrayLen(n)
	for range n {
		buf.Write(item)
	}
	return buf.Bytes()
}

// rawBin encodes b as a msgpack bin.
func rawBin(b []byte) []byte {
	out, _ := msgpack.Marshal(b)
	return out
}

// TestExchangeClocksRefused: an empty key, a nil in place of a clock, and a
// clock that breaks the VV invariants are refused as bad requests; the
// control, a well-formed answer with an empty clock among others, decodes
// and re-encodes to the same bytes, the empty clock as nil.
func TestExchangeClocksRefused(t *testing.T) {
	a := dvv.Actor{Node: "a", Epoch: 1}
	b := dvv.Actor{Node: "b", Epoch: 1}
	unsorted := []byte{0x92, 0x92, 0x92, 0xa1, 'b', 0x01, 0x01, 0x92, 0x92, 0xa1, 'a', 0x01, 0x01}
	for name, tc := range map[string]struct {
		body []byte
		msg  any
	}{
		"empty key":      {exchangeBody(t, 1, rawList(1, rawBin(nil))), new(wire.ExchangeClocks)},
		"nil clock":      {exchangeBody(t, rawList(1, []byte{0xc0})), new(wire.ExchangeClocksOK)},
		"unsorted clock": {exchangeBody(t, rawList(1, unsorted)), new(wire.ExchangeClocksOK)},
		"zero counter":   {exchangeBody(t, rawList(1, []byte{0x91, 0x92, 0x92, 0xa1, 'a', 0x01, 0x00})), new(wire.ExchangeClocksOK)},
	} {
		if err := wire.Decode(tc.body, tc.msg); !errors.Is(err, wire.ErrBadRequest) {
			t.Errorf("%s: err = %v, want ErrBadRequest", name, err)
		}
	}
	in := &wire.ExchangeClocksOK{Clocks: wire.ExchangeVVs{{{Actor: a, Counter: 2}, {Actor: b, Counter: 1}}, dvv.VV{}, {{Actor: b, Counter: 7}}}}
	body, err := wire.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var got wire.ExchangeClocksOK
	if err := wire.Decode(body, &got); err != nil {
		t.Fatal(err)
	}
	want := &wire.ExchangeClocksOK{Clocks: wire.ExchangeVVs{in.Clocks[0], nil, in.Clocks[2]}}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("decoded %#v, want %#v", got, want)
	}
	if again, _ := wire.Encode(&got); !bytes.Equal(again, body) {
		t.Fatalf("re-encodes as %x, first %x", again, body)
	}
}
