package hint

import (
	"bytes"
	"errors"
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

func FuzzParseKey(f *testing.F) {
	for _, s := range [][]byte{nil, {0}, {0, 0}, {0, 1, 'k'}, {0, 1, 'k', 'n'}, {0xff, 0xff}, {0, 1, 'k', 0xff}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		key, owner, err := ParseKey(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error of no known class: %v", err)
			}
			return
		}
		again, err := Key(key, owner)
		if err != nil {
			t.Fatalf("Key of a parsed key: %v", err)
		}
		if !bytes.Equal(again, in) {
			t.Fatalf("re-encoding %x gives %x", in, again)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	obj := sampleObject(f)
	good := mustEncode(f, Record{Epoch: 7, SinceMS: 1_700_000_000_000, Object: obj})
	for _, s := range [][]byte{
		good, mustEncode(f, Record{}), good[:len(good)/2], append(bytes.Clone(good), 0),
		mustEncode(f, Record{Epoch: 7, SinceMS: 1, Object: obj, Kept: true}), {0x94, 0x01, 0x02, 0xc0, 0xc3},
		{0x93, 0x01, 0x02, 0xc0}, {0x93, 0x01, 0x02, 0x92, 0xdd, 0xff, 0xff, 0xff, 0xff},
		{0xdd, 0xff, 0xff, 0xff, 0xff},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, herr := DecodeHeader(in)
		r, err := DecodeRecord(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error of no known class: %v", err)
			}
			return
		}
		if herr != nil || h != (Header{Epoch: r.Epoch, SinceMS: r.SinceMS, Kept: r.Kept}) {
			t.Fatalf("DecodeHeader = %+v, %v disagrees with DecodeRecord %+v", h, herr, r)
		}
		if err := r.Object.Validate(); err != nil {
			t.Fatalf("decoded an invalid object: %v", err)
		}
		b, err := EncodeRecord(r)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := DecodeRecord(b)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		if again.Epoch != r.Epoch || again.SinceMS != r.SinceMS || again.Kept != r.Kept || !again.Object.Equal(r.Object) || !dvvEqualSize(again.Object, b) {
			t.Fatalf("re-encoding changed the record: %+v vs %+v", again, r)
		}
	})
}

// dvvEqualSize checks the record encoding carries the object at its exact
// Size, so the byte accounting of a node matches what it stores.
func dvvEqualSize(s dvv.Set, rec []byte) bool {
	return len(rec) >= s.Size() && len(rec) <= s.Size()+1+9+9+1
}
