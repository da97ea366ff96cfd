package memstore

import (
	"encoding/binary"

	"github.com/shoalkv/shoal/storaged/store"
)

// state is the whole content of a store at one moment: one tree per bucket
// (an absent bucket is empty). A state is never modified once published:
// a batch writes to a clone, which shares every tree it does not change.
type state map[store.Bucket]*node

// clone returns a copy of st that can be changed without changing st.
func (st state) clone() state {
	c := make(state, len(st))
	for b, t := range st {
		c[b] = t
	}
	return c
}

// epoch returns the epoch recorded in st, if a well-formed one is there.
func (st state) epoch() (uint64, bool) {
	v, ok := st[store.Meta].get(store.EpochKey())
	if !ok || len(v) != 8 {
		return 0, false
	}
	e := binary.BigEndian.Uint64(v)
	return e, e != 0
}

// withEpoch returns a copy of st recording epoch e.
func (st state) withEpoch(e uint64) state {
	c := st.clone()
	c[store.Meta] = c[store.Meta].put(store.EpochKey(), binary.BigEndian.AppendUint64(nil, e))
	return c
}
