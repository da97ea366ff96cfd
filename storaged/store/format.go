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
//     and the version under formatKey in meta.2.
const formatVersion = 2

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
	v, err := lookup(meta, Meta, formatKey)
	if err == nil {
		got, n := binary.Uvarint(v)
		if n == len(v) && got == formatVersion {
			return nil
		}
		if n == len(v) && got > formatVersion {
			return fmt.Errorf("%w: the file has format %d, this store reads up to %d", ErrFormat, got, formatVersion)
		}
		log.Warn("store: malformed format version, recording the current one", "bytes", len(v))
	} else if errors.Is(err, ErrCorrupt) {
		log.Warn("store: the format version's record is corrupt, recording the current one", "err", err)
	}
	return putRecord(meta, Meta, formatKey, binary.AppendUvarint(nil, formatVersion))
}
