package replica

import (
	"encoding/binary"
	"fmt"

	"github.com/shoalkv/shoal/wire/dvv"
)

// Per-key actor epochs (riak_test kv679; riak_kv#1094 and #1643).
//
// A node does not coordinate every key under one actor. Each key it holds
// carries a key epoch of its own, minted the first time the node
// coordinates a write of the key, and the node's actor for the key is
// (node id, store epoch XOR key epoch). Why:
//
//   - A key that is absent here (never written here, lost, or later reaped)
//     gets a fresh actor on its next write, so an old copy elsewhere (a
//     tombstone in a hint, a restored file) whose clock counts the node's
//     earlier dots can never cover the new write: kv679_tombstone.
//   - When a peer's copy shows the key's actor at a counter above the one
//     held here, the node has lost writes it issued (a restored data file,
//     a crash without fsync); the key epoch is dropped so the next write
//     takes a fresh actor instead of reissuing a dot: kv679_dataloss.
//   - A store that takes a new epoch (a wiped, damaged or rewound data file)
//     changes every key's actor at once, without rewriting a record.
//
// The cost is one version-vector entry per incarnation of a key on a
// coordinating node: normally one, since a key is created once.

// Self is the node applying a write to one of its keys.
type Self struct {
	// Node is the node's id, the Node of each of its actors.
	Node string
	// Store is the store's epoch (store.Engine.Epoch).
	Store uint64
	// Durable says the node acknowledges only writes it has synced to disk,
	// so that a key's counters held here are the whole truth of what its
	// actor issued. Without it (storaged's NoSync) a crash can lose issued
	// dots, and a higher counter from anyone is taken as amnesia.
	Durable bool
	// Mint returns a new, uniformly random, nonzero key epoch
	// (hint.MintEpoch over the node's random source).
	Mint func() (uint64, error)
}

// Actor returns the node's actor for a key of key epoch e (nonzero).
func (s Self) Actor(e uint64) dvv.Actor { return dvv.Actor{Node: s.Node, Epoch: s.Store ^ e} }

// Local is what a node holds of one key: the object and the key epoch of
// the node's own actor for it (0: none yet; the next coordinated write
// mints one). The zero Local is an absent key.
type Local struct {
	Object dvv.Set
	Epoch  uint64
}

// Own returns the node's actor for the key, and false when it has none.
func (l Local) Own(s Self) (dvv.Actor, bool) {
	if l.Epoch == 0 {
		return dvv.Actor{}, false
	}
	return s.Actor(l.Epoch), true
}

// fresh mints a key epoch whose actor neither the object nor claims has
// seen: a fresh actor, whose first dot nothing can cover.
func (s Self) fresh(obj dvv.Set, claims dvv.VV) (uint64, error) {
	for {
		e, err := s.Mint()
		if err != nil {
			return 0, fmt.Errorf("replica: mint a key epoch: %w", err)
		}
		if e == 0 {
			continue
		}
		if a := s.Actor(e); obj.VV.Get(a) == 0 && claims.Get(a) == 0 {
			return e, nil
		}
	}
}

// storedMark starts a stored object that carries a key epoch: 0xc1, the one
// byte msgpack never uses, so it cannot start a plain encoded dvv.Set.
const storedMark = 0xc1

// EncodeLocal returns l as the node stores it: the encoded object (the
// dvv codec), preceded by storedMark and the key epoch (8 bytes, big
// endian) when it has one. A key without a key epoch is stored exactly as
// before key epochs existed.
func EncodeLocal(l Local) ([]byte, error) {
	b, err := dvv.EncodeSet(l.Object)
	if err != nil {
		return nil, err
	}
	if l.Epoch == 0 {
		return b, nil
	}
	out := make([]byte, 0, 9+len(b))
	out = append(out, storedMark)
	out = binary.BigEndian.AppendUint64(out, l.Epoch)
	return append(out, b...), nil
}

// DecodeLocal decodes what EncodeLocal returns, or a stored object written
// before key epochs (a plain encoded set: no key epoch); nil is an absent
// key. Errors are the dvv codec's, or say what is wrong with the header;
// the result does not alias b.
func DecodeLocal(b []byte) (Local, error) {
	if b == nil {
		return Local{}, nil
	}
	var l Local
	if len(b) > 0 && b[0] == storedMark {
		if len(b) < 9 {
			return Local{}, fmt.Errorf("replica: stored object header is %d bytes, want 9", len(b))
		}
		if l.Epoch = binary.BigEndian.Uint64(b[1:9]); l.Epoch == 0 {
			return Local{}, fmt.Errorf("replica: stored object header holds key epoch 0")
		}
		b = b[9:]
	}
	obj, err := dvv.DecodeSet(b)
	if err != nil {
		return Local{}, err
	}
	l.Object = obj
	return l, nil
}

// ObjectOf returns the object of a stored record without its key epoch:
// what hash trees, exchanges and reads use (the key epoch is the node's
// own and never leaves it).
func ObjectOf(b []byte) (dvv.Set, error) {
	l, err := DecodeLocal(b)
	return l.Object, err
}
