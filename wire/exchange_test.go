package wire_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// exchangeBody encodes fields as a msgpack array, bypassing the message
// types so that a test can declare what they would refuse to.
func exchangeBody(t *testing.T, fields ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	if err := e.EncodeArrayLen(len(fields)); err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if raw, ok := f.(msgpack.RawMessage); ok {
			buf.Write(raw)
			continue
		}
		if err := e.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func ids(n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i)
	}
	return out
}

func keyHashes(n, keyLen int) msgpack.RawMessage {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	_ = e.EncodeArrayLen(n)
	for i := range n {
		_ = e.EncodeArrayLen(2)
		k := bytes.Repeat([]byte{'k'}, keyLen)
		_ = e.EncodeBytes(k)
		_ = e.EncodeUint(uint64(i))
	}
	return buf.Bytes()
}

// TestExchangeDecodeLimits: each bounded field of the exchange messages, the
// clock round's included, decodes at its bound and is refused one past it
// with an error wrapping wire.ErrTooLarge that names the count and the
// limit; a declared count far beyond the bytes present is refused without
// allocating it.
func TestExchangeDecodeLimits(t *testing.T) {
	vvBytes, err := msgpack.Marshal(dvv.VV{{Actor: dvv.Actor{Node: "n1", Epoch: 9}, Counter: 3}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		at, ovr []byte
		msg     func() any
		want    string
	}{
		{
			name: "leaves branch ids",
			at:   exchangeBody(t, 1, 256, ids(wire.MaxExchangeIDs)),
			ovr:  exchangeBody(t, 1, 256, ids(wire.MaxExchangeIDs+1)),
			msg:  func() any { return new(wire.ExchangeLeaves) },
			want: "1025 entries, limit 1024",
		},
		{
			name: "keys leaf ids",
			at:   exchangeBody(t, 1, 256, ids(wire.MaxExchangeIDs), []byte("a"), 0),
			ovr:  exchangeBody(t, 1, 256, ids(wire.MaxExchangeIDs+1), []byte("a"), 0),
			msg:  func() any { return new(wire.ExchangeKeys) },
			want: "1025 entries, limit 1024",
		},
		{
			name: "keys cursor",
			at:   exchangeBody(t, 1, 256, ids(1), make([]byte, 32<<10-2), 0),
			ovr:  exchangeBody(t, 1, 256, ids(1), make([]byte, 32<<10-1), 0),
			msg:  func() any { return new(wire.ExchangeKeys) },
			want: "32767 bytes, limit 32766",
		},
		{
			name: "key hash count",
			at:   exchangeBody(t, keyHashes(wire.MaxExchangeKeys, 1), false),
			ovr:  exchangeBody(t, keyHashes(wire.MaxExchangeKeys+1, 1), false),
			msg:  func() any { return new(wire.ExchangeKeysOK) },
			want: "4097 entries, limit 4096",
		},
		{
			name: "key length",
			at:   exchangeBody(t, keyHashes(1, 32<<10-2), false),
			ovr:  exchangeBody(t, keyHashes(1, 32<<10-1), false),
			msg:  func() any { return new(wire.ExchangeKeysOK) },
			want: "32767 bytes, limit 32766",
		},
		{
			name: "part bytes",
			at:   exchangeBody(t, 256, 1, make([]byte, wire.MaxExchangePart)),
			ovr:  exchangeBody(t, 256, 1, make([]byte, wire.MaxExchangePart+1)),
			msg:  func() any { return new(wire.ExchangeTopOK) },
			want: "1048577 bytes, limit 1048576",
		},
		{
			name: "clocks key count",
			at:   exchangeBody(t, 1, rawList(wire.MaxExchangeClocks, rawBin([]byte("k")))),
			ovr:  exchangeBody(t, 1, rawList(wire.MaxExchangeClocks+1, rawBin([]byte("k")))),
			msg:  func() any { return new(wire.ExchangeClocks) },
			want: "4097 entries, limit 4096",
		},
		{
			name: "clocks key length",
			at:   exchangeBody(t, 1, rawList(1, rawBin(make([]byte, 32<<10-2)))),
			ovr:  exchangeBody(t, 1, rawList(1, rawBin(make([]byte, 32<<10-1)))),
			msg:  func() any { return new(wire.ExchangeClocks) },
			want: "32767 bytes, limit 32766",
		},
		{
			name: "clock count",
			at:   exchangeBody(t, rawList(wire.MaxExchangeClocks, vvBytes)),
			ovr:  exchangeBody(t, rawList(wire.MaxExchangeClocks+1, vvBytes)),
			msg:  func() any { return new(wire.ExchangeClocksOK) },
			want: "4097 entries, limit 4096",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := wire.Decode(tc.at, tc.msg()); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			err := wire.Decode(tc.ovr, tc.msg())
			if !errors.Is(err, wire.ErrTooLarge) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("one past the limit: err = %v, want ErrTooLarge saying %q", err, tc.want)
			}
			if c := wire.CodeOf(err); c != wire.CodeTooLarge {
				t.Fatalf("code %s, want too large", c)
			}
		})
	}

	// Declared counts with no bytes behind them.
	for name, body := range map[string][]byte{
		"ids":   {0x93, 0x01, 0xcd, 0x01, 0x00, 0xdd, 0x00, 0x00, 0x04, 0x00},
		"keys":  {0x92, 0xdd, 0x00, 0x00, 0x10, 0x00, 0xc2},
		"part":  {0x93, 0x01, 0x01, 0xc6, 0x00, 0x0f, 0xff, 0xff},
		"huge":  {0x93, 0x01, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff},
		"empty": {0x92, 0x91, 0x92, 0xc4, 0x00, 0x01, 0xc2},
	} {
		msgs := []any{new(wire.ExchangeLeaves), new(wire.ExchangeKeysOK), new(wire.ExchangeTopOK)}
		var errs []error
		alloc := fuzzAllocated(func() {
			for _, m := range msgs {
				errs = append(errs, wire.Decode(body, m))
			}
		})
		for i, err := range errs {
			if err == nil {
				t.Errorf("%s: %T decoded %x", name, msgs[i], body)
			}
		}
		if alloc > 64<<10 {
			t.Errorf("%s: refusing %d bytes allocated %d", name, len(body), alloc)
		}
	}
}

// TestExchangeEmptyIsNil: empty id lists, parts and key lists decode as nil,
// so that a decoded message re-encodes to the same bytes.
func TestExchangeEmptyIsNil(t *testing.T) {
	in := &wire.ExchangeKeysOK{Keys: wire.KeyHashes{}}
	b, err := wire.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var got wire.ExchangeKeysOK
	if err := wire.Decode(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Keys != nil {
		t.Fatalf("empty keys decoded as %#v", got.Keys)
	}
	top := &wire.ExchangeTopOK{Part: wire.ExchangePart{}}
	b, _ = wire.Encode(top)
	var gotTop wire.ExchangeTopOK
	if err := wire.Decode(b, &gotTop); err != nil || gotTop.Part != nil {
		t.Fatalf("empty part decoded as %#v, %v", gotTop.Part, err)
	}
	want := wire.ExchangeTopOK{Leaves: 1}
	gotTop.Leaves = 1
	if !reflect.DeepEqual(gotTop, want) {
		t.Fatalf("got %#v", gotTop)
	}
}
