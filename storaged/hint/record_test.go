package hint

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

func TestRecordRoundTrip(t *testing.T) {
	obj := sampleObject(t)
	for _, r := range []Record{
		{},
		{Epoch: 1, SinceMS: 1},
		{Epoch: math.MaxUint64, SinceMS: math.MaxInt64, Object: obj},
		{Epoch: 0, SinceMS: 1_700_000_000_000, Object: obj},
		{Kept: true},
		{Epoch: 4, SinceMS: 1_700_000_000_000, Object: obj, Kept: true},
	} {
		b := mustEncode(t, r)
		got, err := DecodeRecord(b)
		if err != nil {
			t.Fatalf("DecodeRecord(%x): %v", b, err)
		}
		if got.Epoch != r.Epoch || got.SinceMS != r.SinceMS || !got.Object.Equal(r.Object) || got.Kept != r.Kept {
			t.Errorf("round trip: got %+v, want %+v", got, r)
		}
		h, err := DecodeHeader(b)
		if err != nil || h != (Header{Epoch: r.Epoch, SinceMS: r.SinceMS, Kept: r.Kept}) {
			t.Errorf("DecodeHeader = %+v, %v; want epoch %d since %d kept %v", h, err, r.Epoch, r.SinceMS, r.Kept)
		}
		objEnd := b
		if r.Kept {
			objEnd = b[:len(b)-1] // the kept mark, one byte, follows the object
		}
		if want := r.Object.Size(); !bytes.HasSuffix(objEnd, mustSet(t, r.Object)) || len(b) > want+1+9+9+1 {
			t.Errorf("record encoding %x does not carry the object's encoding", b)
		}
	}
}

// TestRecordKeptFormat: a record that is not kept is written in the first,
// three-field format, so records written before the kept mark existed read
// as not kept; a kept one appends the mark, and a four-field record with
// the mark false reads as not kept.
func TestRecordKeptFormat(t *testing.T) {
	obj := sampleObject(t)
	plain := mustEncode(t, Record{Epoch: 2, SinceMS: 3, Object: obj})
	if want := append([]byte{0x93, 0x02, 0x03}, mustSet(t, obj)...); !bytes.Equal(plain, want) {
		t.Errorf("a record that is not kept encodes as %x, want the three-field %x", plain, want)
	}
	kept := mustEncode(t, Record{Epoch: 2, SinceMS: 3, Object: obj, Kept: true})
	if want := append(append([]byte{0x94}, plain[1:]...), 0xc3); !bytes.Equal(kept, want) {
		t.Errorf("a kept record encodes as %x, want %x", kept, want)
	}
	unmarked := append(append([]byte{0x94}, plain[1:]...), 0xc2)
	for _, in := range [][]byte{plain, unmarked} {
		r, err := DecodeRecord(in)
		if err != nil || r.Kept {
			t.Errorf("DecodeRecord(%x) = %+v, %v; want not kept", in, r, err)
		}
		if h, err := DecodeHeader(in); err != nil || h.Kept {
			t.Errorf("DecodeHeader(%x) = %+v, %v; want not kept", in, h, err)
		}
	}
}

func mustSet(t testing.TB, s dvv.Set) []byte {
	t.Helper()
	b, err := dvv.EncodeSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeRecordDoesNotAlias: the decoded object owns its bytes, so a
// record copied out of a bbolt transaction stays valid after it ends.
func TestDecodeRecordDoesNotAlias(t *testing.T) {
	b := mustEncode(t, Record{Epoch: 3, SinceMS: 5, Object: sampleObject(t)})
	r, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if v := r.Object.Values(); len(v) != 1 || string(v[0]) != "apple" {
		t.Errorf("after clearing the input, values = %q", v)
	}
}

func TestEncodeRecordInvalid(t *testing.T) {
	if _, err := EncodeRecord(Record{SinceMS: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative time: %v, want ErrInvalid", err)
	}
	bad := dvv.Set{Siblings: []dvv.Sibling{{Dot: dvv.Dot{Actor: actorA, Counter: 1}}}} // not covered by its vv
	if _, err := EncodeRecord(Record{Object: bad}); !errors.Is(err, dvv.ErrInvalid) {
		t.Errorf("invalid object: %v, want dvv.ErrInvalid", err)
	}
}

func TestDecodeRecordMalformed(t *testing.T) {
	good := mustEncode(t, Record{Epoch: 2, SinceMS: 3, Object: sampleObject(t)})
	empty := mustSet(t, dvv.Set{})
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty input", nil},
		{"nil", []byte{0xc0}},
		{"map", []byte{0x80}},
		{"two fields", cat([]byte{0x92, 0x01, 0x02})},
		{"four fields", cat([]byte{0x94, 0x01, 0x02}, empty, []byte{0x00})},
		{"array16 of 4", cat([]byte{0xdc, 0x00, 0x04, 0x01, 0x02}, empty, []byte{0x00})},
		{"nil kept", cat([]byte{0x94, 0x01, 0x02}, empty, []byte{0xc0})},
		{"no kept", cat([]byte{0x94, 0x01, 0x02}, empty)},
		{"five fields", cat([]byte{0x95, 0x01, 0x02}, empty, []byte{0xc3, 0xc3})},
		{"kept then trailing byte", cat([]byte{0x94, 0x01, 0x02}, empty, []byte{0xc3, 0x00})},
		{"huge array32", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}},
		{"nil epoch", cat([]byte{0x93, 0xc0, 0x02}, empty)},
		{"negative epoch", cat([]byte{0x93, 0xff, 0x02}, empty)},
		{"signed epoch", cat([]byte{0x93, 0xd0, 0x01, 0x02}, empty)},
		{"string since", cat([]byte{0x93, 0x01, 0xa1, 'x'}, empty)},
		{"since past int64", cat([]byte{0x93, 0x01, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}, empty)},
		{"truncated uint64", []byte{0x93, 0xcf, 0x00, 0x00}},
		{"no object", []byte{0x93, 0x01, 0x02}},
		{"nil object", []byte{0x93, 0x01, 0x02, 0xc0}},
		{"object not a set", []byte{0x93, 0x01, 0x02, 0x90}},
		{"truncated object", good[:len(good)-1]},
		{"trailing byte", cat(good, []byte{0x00})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRecord(tc.in)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeRecord(%x) = %+v, %v; want ErrMalformed", tc.in, r, err)
			}
		})
	}
}

func TestDecodeHeaderIgnoresObject(t *testing.T) {
	b := []byte{0x93, 0x05, 0xcd, 0x01, 0x00, 0xc0} // object nil: DecodeRecord refuses it
	h, err := DecodeHeader(b)
	if err != nil || h != (Header{Epoch: 5, SinceMS: 256}) {
		t.Errorf("DecodeHeader = %+v, %v", h, err)
	}
	if _, err := DecodeHeader([]byte{0x93, 0x05}); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated header: %v, want ErrMalformed", err)
	}
	// The kept mark follows the object, so a four-field record's header
	// needs it: a bad object there is malformed.
	if h, err := DecodeHeader([]byte{0x94, 0x05, 0x01, 0xc0, 0xc3}); !errors.Is(err, ErrMalformed) {
		t.Errorf("kept record with a nil object: DecodeHeader = %+v, %v; want ErrMalformed", h, err)
	}
}

// TestRecordRetainedFormat: a retained record appends kept (false) and the
// retained mark, so its array's length alone says it is retained and
// DecodeHeader reads no further; five fields that are not exactly "not
// kept, retained" are malformed, and kept with retained cannot be encoded.
func TestRecordRetainedFormat(t *testing.T) {
	obj := sampleObject(t)
	plain := mustEncode(t, Record{Epoch: 2, SinceMS: 3, Object: obj})
	r := Record{Epoch: 2, SinceMS: 3, Object: obj, Retained: true}
	b := mustEncode(t, r)
	if want := append(append([]byte{0x95}, plain[1:]...), 0xc2, 0xc3); !bytes.Equal(b, want) {
		t.Fatalf("a retained record encodes as %x, want %x", b, want)
	}
	got, err := DecodeRecord(b)
	if err != nil || !got.Retained || got.Kept || got.Epoch != 2 || !got.Object.Equal(obj) {
		t.Fatalf("DecodeRecord = %+v, %v; want it retained", got, err)
	}
	// The header needs no object: a retained record with garbage where
	// its object would be still reads as retained.
	if h, err := DecodeHeader([]byte{0x95, 0x02, 0x03, 0xc1}); err != nil || !h.Retained || h.Epoch != 2 {
		t.Fatalf("DecodeHeader of a retained record = %+v, %v", h, err)
	}
	for _, bad := range [][]byte{
		append(append([]byte{0x95}, plain[1:]...), 0xc2, 0xc2), // five fields, not retained
		append(append([]byte{0x95}, plain[1:]...), 0xc3, 0xc3), // kept and retained
		append(append([]byte{0x95}, plain[1:]...), 0xc2, 0x01), // not a boolean
		append(append([]byte{0x96}, plain[1:]...), 0xc2, 0xc3, 0xc3),
	} {
		if _, err := DecodeRecord(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeRecord(%x) = %v, want ErrMalformed", bad, err)
		}
	}
	if _, err := EncodeRecord(Record{Kept: true, Retained: true}); !errors.Is(err, ErrInvalid) {
		t.Errorf("encode kept and retained: %v, want ErrInvalid", err)
	}
}
