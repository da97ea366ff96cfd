package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
)

// A record is how an Engine keeps a value: a header, then the value's
// bytes (the payload).
//
//	offset 0: record format (recordFormat)
//	offset 1: CRC-32C (Castagnoli), big endian, of: the record format, the
//	          bucket, the key's length (uvarint), the key, the payload
//	offset 5: payload
//
// The checksum covers the bucket and the key as well as the payload, so a
// record that moves (a damaged page that points one key at another key's
// value, a value copied between buckets) fails to verify just as a flipped
// bit does. Records are verified on every read; see ErrCorrupt.
const (
	recordFormat = 1
	// RecordOverhead is how many bytes a record adds to its value.
	RecordOverhead = 5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is matched by the error a read returns for a record whose
// checksum does not hold (see CorruptError). Such a record is never
// returned as data: to every read it is absent, and the error also matches
// ErrNotFound, so a caller that treats a missing key as "fetch it from a
// peer" does just that for a damaged one.
var ErrCorrupt = errors.New("store: corrupt record")

// CorruptError describes a record whose checksum does not hold. It names
// the key by a hash, never by its bytes or the record's, so it can be logged
// as is. It matches ErrCorrupt and ErrNotFound.
type CorruptError struct {
	Bucket  Bucket
	KeyHash string // the first 8 bytes of the key's SHA-256, in hex
	KeyLen  int
	Reason  string // what failed to verify
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("store: corrupt record in bucket %s, key sha256 %s (%d bytes): %s", e.Bucket, e.KeyHash, e.KeyLen, e.Reason)
}

// Is makes a CorruptError match ErrCorrupt and ErrNotFound.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt || target == ErrNotFound }

// KeyHash returns how CorruptError and the logs name a key: the first 8
// bytes of its SHA-256, in hex.
func KeyHash(key []byte) string {
	h := sha256.Sum256(key)
	return hex.EncodeToString(h[:8])
}

// recordSum is the checksum of value as the record of key in bucket b.
func recordSum(b Bucket, key, value []byte) uint32 {
	var head [2 + binary.MaxVarintLen64]byte
	head[0], head[1] = recordFormat, byte(b)
	n := 2 + binary.PutUvarint(head[2:], uint64(len(key)))
	sum := crc32.Update(0, castagnoli, head[:n])
	sum = crc32.Update(sum, castagnoli, key)
	return crc32.Update(sum, castagnoli, value)
}

// AppendRecord appends to dst the record that keeps value under key in
// bucket b, and returns the extended slice.
func AppendRecord(dst []byte, b Bucket, key, value []byte) []byte {
	dst = append(dst, recordFormat)
	dst = binary.BigEndian.AppendUint32(dst, recordSum(b, key, value))
	return append(dst, value...)
}

// OpenRecord verifies rec as the record of key in bucket b and returns its
// value, a subslice of rec (a non-nil empty slice for an empty value), or a
// *CorruptError saying what does not hold.
func OpenRecord(b Bucket, key, rec []byte) ([]byte, error) {
	reason := ""
	switch {
	case len(rec) < RecordOverhead:
		reason = fmt.Sprintf("record of %d bytes, shorter than its %d-byte header", len(rec), RecordOverhead)
	case rec[0] != recordFormat:
		reason = fmt.Sprintf("record format %d, want %d", rec[0], recordFormat)
	default:
		value := rec[RecordOverhead:]
		want := binary.BigEndian.Uint32(rec[1:RecordOverhead])
		got := recordSum(b, key, value)
		if got == want {
			return value, nil
		}
		reason = fmt.Sprintf("checksum %08x stored, %08x computed over %d bytes", want, got, len(value))
	}
	return nil, &CorruptError{Bucket: b, KeyHash: KeyHash(key), KeyLen: len(key), Reason: reason}
}
