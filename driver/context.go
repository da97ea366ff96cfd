package driver

import (
	"fmt"

	"github.com/shoalkv/shoal/wire/dvv"
)

// Context is the opaque causal context of a read: pass it back unchanged with
// the write that supersedes what was read. It is the merged version vector of
// the versions returned; nil means "I have read nothing" (a blind write,
// which becomes a sibling of whatever exists).
type Context []byte

func encodeContext(vv dvv.VV) Context {
	if len(vv) == 0 {
		return nil
	}
	b, err := dvv.EncodeVV(vv)
	if err != nil {
		panic("driver: encode context: " + err.Error()) // a valid VV always encodes
	}
	return b
}

func decodeContext(c Context) (dvv.VV, error) {
	if len(c) == 0 {
		return nil, nil
	}
	vv, err := dvv.DecodeVV(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadContext, err)
	}
	return vv, nil
}
