package memstore

import (
	"bytes"
	"hash/maphash"
)

// node is a node of an immutable ordered map from keys to values: a treap
// (a binary search tree by key that is a heap by prio), changed only by
// copying the path to a change, so that a snapshot of a whole bucket is one
// pointer and costs nothing to take or keep. The nil *node is the empty map.
// Nodes are never modified once a put or del has returned them.
type node struct {
	key, value  []byte // owned by the tree; value is never nil
	prio        uint64 // a hash of key: the tree's shape depends on its keys only
	size        int    // keys in this subtree
	left, right *node
}

// seed keys the priorities. Only the tree's shape, never an observable
// order, depends on it.
var seed = maphash.MakeSeed()

func priority(key []byte) uint64 { return maphash.Bytes(seed, key) }

func (n *node) len() int {
	if n == nil {
		return 0
	}
	return n.size
}

// get returns the value of key and whether it is present.
func (n *node) get(key []byte) ([]byte, bool) {
	for n != nil {
		switch c := bytes.Compare(key, n.key); {
		case c < 0:
			n = n.left
		case c > 0:
			n = n.right
		default:
			return n.value, true
		}
	}
	return nil, false
}

// put returns n with key set to value. It takes ownership of both slices.
func (n *node) put(key, value []byte) *node {
	return put(n, key, value, priority(key))
}

func put(n *node, key, value []byte, prio uint64) *node {
	if n == nil {
		return &node{key: key, value: value, prio: prio, size: 1}
	}
	m := *n // the copy this change owns until it returns
	switch c := bytes.Compare(key, n.key); {
	case c < 0:
		m.left = put(n.left, key, value, prio)
		if m.left.prio > m.prio {
			return rotateRight(&m)
		}
	case c > 0:
		m.right = put(n.right, key, value, prio)
		if m.right.prio > m.prio {
			return rotateLeft(&m)
		}
	default:
		m.value = value
		return &m
	}
	m.resize()
	return &m
}

// rotateRight lifts m's left child, a node new in this change, above m.
func rotateRight(m *node) *node {
	l := m.left
	m.left = l.right
	m.resize()
	l.right = m
	l.resize()
	return l
}

// rotateLeft lifts m's right child, a node new in this change, above m.
func rotateLeft(m *node) *node {
	r := m.right
	m.right = r.left
	m.resize()
	r.left = m
	r.resize()
	return r
}

func (n *node) resize() { n.size = 1 + n.left.len() + n.right.len() }

// del returns n without key.
func (n *node) del(key []byte) *node {
	m, _ := del(n, key)
	return m
}

func del(n *node, key []byte) (*node, bool) {
	if n == nil {
		return nil, false
	}
	m := *n
	var found bool
	switch c := bytes.Compare(key, n.key); {
	case c < 0:
		m.left, found = del(n.left, key)
	case c > 0:
		m.right, found = del(n.right, key)
	default:
		return merge(n.left, n.right), true
	}
	if !found {
		return n, false // nothing changed: share the old subtree
	}
	m.size--
	return &m, true
}

// merge joins two trees, every key of a before every key of b.
func merge(a, b *node) *node {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		m := *a
		m.right = merge(a.right, b)
		m.size = a.size + b.size
		return &m
	default:
		m := *b
		m.left = merge(a, b.left)
		m.size = a.size + b.size
		return &m
	}
}

// ascend calls fn for the keys not before from (every key if from is
// empty), in byte order, until fn returns false. It reports whether it
// reached the end.
func (n *node) ascend(from []byte, fn func(key, value []byte) bool) bool {
	if n == nil {
		return true
	}
	if bytes.Compare(n.key, from) >= 0 {
		if !n.left.ascend(from, fn) || !fn(n.key, n.value) {
			return false
		}
	}
	return n.right.ascend(from, fn)
}
