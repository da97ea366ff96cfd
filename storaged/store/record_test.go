package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// TestRecordBinding: a record opens only as the bucket and key it was made
// for, and any single flipped bit anywhere in it is caught.
func TestRecordBinding(t *testing.T) {
	key, value := []byte("key"), []byte("some value")
	rec := AppendRecord(nil, Objects, key, value)
	if len(rec) != RecordOverhead+len(value) {
		t.Fatalf("record of %d bytes for a %d-byte value", len(rec), len(value))
	}
	if v, err := OpenRecord(Objects, key, rec); err != nil || !bytes.Equal(v, value) {
		t.Fatalf("OpenRecord = %q, %v", v, err)
	}
	for _, tc := range []struct {
		b   Bucket
		key string
	}{{Hints, "key"}, {Objects, "kez"}, {Objects, "key\x00"}} {
		if _, err := OpenRecord(tc.b, []byte(tc.key), rec); !errors.Is(err, ErrCorrupt) {
			t.Errorf("record of objects/key opened as %s/%q: %v", tc.b, tc.key, err)
		}
	}
	for i := range len(rec) * 8 {
		bad := bytes.Clone(rec)
		bad[i/8] ^= 1 << (i % 8)
		if v, err := OpenRecord(Objects, key, bad); !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrNotFound) || v != nil {
			t.Fatalf("bit %d flipped: %q, %v", i, v, err)
		}
	}
	var ce *CorruptError
	_, err := OpenRecord(Objects, key, rec[:3])
	if !errors.As(err, &ce) || ce.KeyHash != KeyHash(key) || bytes.Contains([]byte(err.Error()), value) {
		t.Errorf("error for a short record: %v", err)
	}
}

// BenchmarkRecord is the CPU cost of the checksum: framing a value on a
// write and verifying it on a read.
func BenchmarkRecord(b *testing.B) {
	key := []byte("0123456789abcdef")
	for _, n := range []int{128, 4 << 10, 1 << 20} {
		value := bytes.Repeat([]byte("v"), n)
		buf := make([]byte, 0, RecordOverhead+n)
		b.Run(fmt.Sprintf("bytes=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				rec := AppendRecord(buf[:0], Objects, key, value)
				if _, err := OpenRecord(Objects, key, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
