package memstore

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/shoalkv/shoal/storaged/store"
)

// state is the whole content of a store at one moment: one tree per bucket
// (an absent bucket is empty), holding records (store.AppendRecord), as a
// *store.Store's file does, so that a damaged record (Disk.SetRecord) is
// caught the same way. A state is never modified once published: a batch
// writes to a clone, which shares every tree it does not change.
type state map[store.Bucket]*node

// clone returns a copy of st that can be changed without changing st.
func (st state) clone() state {
	c := make(state, len(st))
	for b, t := range st {
		c[b] = t
	}
	return c
}

// read returns the verified value of key, kept under stored
// (store.Partitioning.StoredKey), in bucket b, an error matching
// store.ErrNotFound if it is absent, or a *store.CorruptError. The value
// points into st and must not be modified.
func (st state) read(b store.Bucket, stored, key []byte) ([]byte, error) {
	rec, ok := st[b].get(stored)
	if !ok {
		return nil, store.ErrNotFound
	}
	return store.OpenRecord(b, key, rec)
}

// walk is the store.Walk over bucket b of st.
func (st state) walk(b store.Bucket) store.Walk {
	t := st[b]
	return func(from []byte, fn func(stored, rec []byte) bool) { t.ascend(from, fn) }
}

// write sets key, kept under stored, in bucket b of st (which must be a
// private clone) to a record of value. It copies stored and value.
func (st state) write(b store.Bucket, stored, key, value []byte) {
	st[b] = st[b].put(own(stored), store.AppendRecord(make([]byte, 0, store.RecordOverhead+len(value)), b, key, value))
}

// meta returns the verified value of key in the Meta bucket of st.
func (st state) meta(key []byte) ([]byte, error) { return st.read(store.Meta, key, key) }

// withMeta returns a copy of st with key set to value in Meta.
func (st state) withMeta(key, value []byte) state {
	c := st.clone()
	c.write(store.Meta, key, key, value)
	return c
}

// epoch returns the epoch recorded in st, if a well-formed, intact one is
// there.
func (st state) epoch() (uint64, bool) {
	v, err := st.meta(store.EpochKey())
	if err != nil || len(v) != 8 {
		return 0, false
	}
	e := binary.BigEndian.Uint64(v)
	return e, e != 0
}

// withEpoch returns a copy of st recording epoch e.
func (st state) withEpoch(e uint64) state {
	return st.withMeta(store.EpochKey(), binary.BigEndian.AppendUint64(nil, e))
}

// withFormat returns st recording the format version, a copy if it did not
// hold it intact already.
func (st state) withFormat() state {
	want := binary.AppendUvarint(nil, store.FormatVersion())
	if v, err := st.meta(store.FormatKey()); err == nil && bytes.Equal(v, want) {
		return st
	}
	return st.withMeta(store.FormatKey(), want)
}

// withPartitions returns st recording keys' partition count (a copy if it
// did not hold it), or an error matching store.ErrPartitions if st records
// another one, as (*store.Store) refuses a file laid out otherwise.
func (st state) withPartitions(keys store.Partitioning) (state, error) {
	want := uint64(keys.Count())
	if v, err := st.meta(store.PartitionsKey()); err == nil {
		got, n := binary.Uvarint(v)
		if n > 0 && n == len(v) && got == want {
			return st, nil
		}
		if n > 0 && n == len(v) {
			return nil, fmt.Errorf("memstore: %w: the disk lays its objects out in %d partitions, opened with %d", store.ErrPartitions, got, want)
		}
	}
	return st.withMeta(store.PartitionsKey(), binary.AppendUvarint(nil, want)), nil
}
