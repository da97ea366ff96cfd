package wire_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/shoalkv/shoal/wire"
)

// repairFailures encodes n failure triples with errors of errLen bytes, or
// with fields fields each when fields is not 3 (a malformed triple).
func repairFailures(n, errLen, fields int) msgpack.RawMessage {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	_ = e.EncodeArrayLen(n)
	for i := range n {
		_ = e.EncodeArrayLen(fields)
		_ = e.EncodeUint32(uint32(i))
		_ = e.EncodeString("n3")
		if fields > 2 {
			_ = e.EncodeString(strings.Repeat("e", errLen))
		}
	}
	return buf.Bytes()
}

// repairOK is a RepairOK body whose progress carries failures.
func repairOK(t *testing.T, failures msgpack.RawMessage) []byte {
	t.Helper()
	progress := exchangeBody(t, 1, true, 2, 1, 3, 4, 5, 6, 7, failures)
	return exchangeBody(t, msgpack.RawMessage(progress))
}

// TestRepairDecodeLimits: a repair's failure list decodes at
// MaxRepairFailures entries and error texts of MaxRepairError bytes, and is
// refused one past either with an error wrapping wire.ErrTooLarge that
// names the count and the limit; a triple with a field missing is a bad
// request.
func TestRepairDecodeLimits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		at, ovr []byte
		want    string
	}{
		{
			"failure count",
			repairOK(t, repairFailures(wire.MaxRepairFailures, 8, 3)),
			repairOK(t, repairFailures(wire.MaxRepairFailures+1, 8, 3)),
			"65 entries, limit 64",
		},
		{
			"error text",
			repairOK(t, repairFailures(1, wire.MaxRepairError, 3)),
			repairOK(t, repairFailures(1, wire.MaxRepairError+1, 3)),
			"1025 bytes, limit 1024",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var at wire.RepairOK
			if err := wire.Decode(tc.at, &at); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			if len(at.Repair.Failures) == 0 || at.Repair.Failures[0].Peer != "n3" {
				t.Fatalf("at the limit decoded %+v", at.Repair)
			}
			err := wire.Decode(tc.ovr, new(wire.RepairOK))
			if !errors.Is(err, wire.ErrTooLarge) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("one past the limit: err = %v, want ErrTooLarge saying %q", err, tc.want)
			}
		})
	}
	err := wire.Decode(repairOK(t, repairFailures(1, 8, 2)), new(wire.RepairOK))
	if !errors.Is(err, wire.ErrBadRequest) || !strings.Contains(err.Error(), "want 3 fields, found 2") {
		t.Fatalf("a failure of 2 fields: %v, want a bad request", err)
	}
	// A declared count with no bytes behind it.
	if err := wire.Decode(repairOK(t, msgpack.RawMessage{0xdc, 0x00, 0x40}), new(wire.RepairOK)); err == nil {
		t.Fatal("64 failures declared and none present decoded")
	}
}

// TestRepairEmptyIsNil: an empty failure list decodes as nil, so that a
// decoded progress re-encodes to the same bytes.
func TestRepairEmptyIsNil(t *testing.T) {
	b, err := wire.Encode(&wire.RepairOK{Repair: wire.RepairProgress{ID: 1, Failures: wire.RepairFailures{}}})
	if err != nil {
		t.Fatal(err)
	}
	var got wire.RepairOK
	if err := wire.Decode(b, &got); err != nil || got.Repair.Failures != nil || got.Repair.ID != 1 {
		t.Fatalf("decoded %#v, %v; want ID 1 and nil failures", got.Repair, err)
	}
}
