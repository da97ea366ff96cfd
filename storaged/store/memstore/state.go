package memstore

import (
	"bytes"
	"encoding/binary"

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

// read returns the verified value of key in bucket b, an error matching
// store.ErrNotFound if it is absent, or a *store.CorruptError. The value
// points into st and must not be modified.
func (st state) read(b store.Bucket, key []byte) ([]byte, error) {
	rec, ok := st[b].get(key)
	if !ok {
		return nil, store.ErrNotFound
	}
	return store.OpenRecord(b, key, rec)
}

// scan calls fn for the verified records of bucket b from key from on, in
// key order, until fn returns false; corrupt records are noted in c and
// skipped.
func (st state) scan(b store.Bucket, from []byte, c *store.Corruptions, fn func(key, value []byte) bool) {
	st[b].ascend(from, func(k, rec []byte) bool {
		v, err := store.OpenRecord(b, k, rec)
		if err != nil {
			c.Note(err)
			return true
		}
		return fn(k, v)
	})
}

// write sets key in bucket b of st (which must be a private clone) to a
// record of value. It copies key and value.
func (st state) write(b store.Bucket, key, value []byte) {
	st[b] = st[b].put(own(key), store.AppendRecord(make([]byte, 0, store.RecordOverhead+len(value)), b, key, value))
}

// epoch returns the epoch recorded in st, if a well-formed, intact one is
// there.
func (st state) epoch() (uint64, bool) {
	v, err := st.read(store.Meta, store.EpochKey())
	if err != nil || len(v) != 8 {
		return 0, false
	}
	e := binary.BigEndian.Uint64(v)
	return e, e != 0
}

// withEpoch returns a copy of st recording epoch e.
func (st state) withEpoch(e uint64) state {
	c := st.clone()
	c.write(store.Meta, store.EpochKey(), binary.BigEndian.AppendUint64(nil, e))
	return c
}

// withFormat returns st recording the format version, a copy if it did not
// hold it intact already.
func (st state) withFormat() state {
	want := binary.AppendUvarint(nil, store.FormatVersion())
	if v, err := st.read(store.Meta, store.FormatKey()); err == nil && bytes.Equal(v, want) {
		return st
	}
	c := st.clone()
	c.write(store.Meta, store.FormatKey(), want)
	return c
}
