package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"

	bolt "go.etcd.io/bbolt"
)

// epochKey is the Meta key holding the epoch: 8 bytes, big endian, nonzero.
var epochKey = []byte("epoch")

// ensureEpoch returns the epoch recorded in tx's meta bucket, or records a
// new one and reports fresh. A missing, malformed or zero epoch is replaced:
// a database that lost its epoch may also have lost writes, so the node must
// not keep issuing counters under its old identity.
func ensureEpoch(tx *bolt.Tx, rnd io.Reader, log *slog.Logger) (epoch uint64, fresh bool, err error) {
	meta := tx.Bucket(Meta.name())
	if v, err := lookup(meta, Meta, epochKey, epochKey); err == nil {
		if e, ok := decodeEpoch(v); ok {
			return e, false, nil
		}
		log.Warn("store: malformed epoch, starting a new one", "bytes", len(v))
	} else if errors.Is(err, ErrCorrupt) {
		log.Warn("store: the epoch's record is corrupt, starting a new one", "err", err)
	} else if k, _ := tx.Bucket(Objects.name()).Cursor().First(); k != nil {
		log.Warn("store: database holds objects but no epoch, starting a new one")
	}
	if epoch, err = NewEpoch(rnd); err != nil {
		return 0, false, err
	}
	if err := putRecord(meta, Meta, epochKey, epochKey, encodeEpoch(epoch)); err != nil {
		return 0, false, fmt.Errorf("store: record epoch: %w", err)
	}
	return epoch, true, nil
}

// NewEpoch returns a uniformly random nonzero epoch read from rnd
// (crypto/rand.Reader in a node, a seeded source in the simulator).
func NewEpoch(rnd io.Reader) (uint64, error) {
	var b [8]byte
	for {
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return 0, fmt.Errorf("store: new epoch: %w", err)
		}
		if e := binary.BigEndian.Uint64(b[:]); e != 0 {
			return e, nil
		}
	}
}

// EpochKey is the Meta key an Engine keeps its epoch under (8 bytes, big
// endian, nonzero); writes to it are refused (ValidateWrite).
func EpochKey() []byte { return append([]byte(nil), epochKey...) }

func encodeEpoch(e uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, e)
}

func decodeEpoch(v []byte) (uint64, bool) {
	if len(v) != 8 {
		return 0, false
	}
	e := binary.BigEndian.Uint64(v)
	return e, e != 0
}
