package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	bolt "go.etcd.io/bbolt"
)

// formatVersion is the layout of the database file this code writes:
//
//   - 1: buckets objects, hints and meta holding bare values (before record
//     checksums); migrated on open.
//   - 2: buckets objects.2, hints.2 and meta.2 holding records (record.go),
//     and the version under formatKey in meta.2; migrated on open.
//   - 3: buckets objects.3, hints.3 and meta.3: as format 2, but every
//     object stored under a 2-byte big-endian prefix naming its partition
//     (partition.go), and the partition count under partitionsKey in meta.3.
const formatVersion = 3

// formatKey is the Meta key holding the format version (a uvarint).
var formatKey = []byte("format")

// FormatKey is the Meta key an Engine records its format version under;
// writes to it are refused (ValidateWrite).
func FormatKey() []byte { return append([]byte(nil), formatKey...) }

// FormatVersion returns the format version an Engine records under
// FormatKey.
func FormatVersion() uint64 { return formatVersion }

// ErrFormat is returned by Open for a database written by a newer version
// of this store, in a format it cannot read. The file is left as it is.
var ErrFormat = errors.New("store: unknown database format")

// ensureFormat checks the format version recorded in tx's meta bucket, or
// records the current one.
func ensureFormat(tx *bolt.Tx, log *slog.Logger) error {
	meta := tx.Bucket(Meta.name())
	v, err := lookup(meta, Meta, formatKey, formatKey)
	if err == nil {
		got, n := binary.Uvarint(v)
		if n == len(v) && got == formatVersion {
			return nil
		}
		if n == len(v) && got > formatVersion {
			return fmt.Errorf("%w: the file has format %d, this store reads up to %d", ErrFormat, got, formatVersion)
		}
		if n == len(v) && got > 0 {
			// Copied from an older format's meta by the migration.
			return putRecord(meta, Meta, formatKey, formatKey, binary.AppendUvarint(nil, formatVersion))
		}
		log.Warn("store: malformed format version, recording the current one", "bytes", len(v))
	} else if errors.Is(err, ErrCorrupt) {
		log.Warn("store: the format version's record is corrupt, recording the current one", "err", err)
	}
	return putRecord(meta, Meta, formatKey, formatKey, binary.AppendUvarint(nil, formatVersion))
}

// ensurePartitions checks the partition count recorded in tx's meta bucket
// against keys (ErrPartitions), or records it. A count that is missing or
// unreadable while objects exist leaves the layout unknown: the file is
// then damaged (Open moves it aside, see damageError).
func ensurePartitions(tx *bolt.Tx, keys Partitioning) error {
	meta := tx.Bucket(Meta.name())
	want := uint64(keys.Count())
	v, err := lookup(meta, Meta, partitionsKey, partitionsKey)
	if err == nil {
		got, n := binary.Uvarint(v)
		if n > 0 && n == len(v) && got != want {
			return fmt.Errorf("%w: the database lays its objects out in %d partitions, opened with %d", ErrPartitions, got, want)
		}
		if n > 0 && n == len(v) {
			return nil
		}
	}
	if k, _ := tx.Bucket(Objects.name()).Cursor().First(); k != nil {
		reason := "missing"
		if err == nil {
			reason = fmt.Sprintf("malformed (%d bytes)", len(v))
		} else if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			reason = err.Error()
		}
		return damaged(fmt.Errorf("the partition count of a database holding objects is %s", reason))
	}
	return putRecord(meta, Meta, partitionsKey, partitionsKey, binary.AppendUvarint(nil, want))
}
