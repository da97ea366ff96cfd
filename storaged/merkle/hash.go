package merkle

import (
	"hash/crc32"

	"github.com/shoalkv/shoal/wire/dvv"
)

// Hash returns the hash of key holding obj: what key contributes to its leaf.
// The zero Set (no siblings, empty version vector: an absent key) hashes to
// 0, so the delta a write applies is Hash(key, old) ^ Hash(key, new) whether
// it inserts, updates or removes the key.
//
// It covers the key, every version vector entry, and per sibling its dot,
// tombstone flag, value length and a CRC-32C digest of its value, in the
// order the dvv package keeps them (siblings by dot, entries by actor), each
// variable-length field length-prefixed. Two objects that differ in any of
// these hash differently except by chance (about 2^-64 per pair; a tree keeps
// the low 32 bits, see Tree.Apply).
//
// Why 64 bits when leaves keep 32: XOR commutes with truncation, so one Hash
// serves both the tree (4-byte leaves) and a key-level comparison in an
// exchange, where two replicas compare the hashes of the keys of a differing
// leaf and 32 bits would let one key in 2^32 look equal when it is not.
//
// Stability: the result depends only on its inputs, never on the process,
// platform or Go version (FNV-1a 64 over the canonical encoding, finished by
// the splitmix64 mixer, and CRC-32C from hash/crc32; never hash/maphash).
// Changing it is a format change: every tree must then be rebuilt. It is
// not a cryptographic hash and makes no claim against crafted inputs.
func Hash(key []byte, obj dvv.Set) uint64 {
	if len(obj.Siblings) == 0 && len(obj.VV) == 0 {
		return 0
	}
	h := stateSeed
	h.bytes(key)
	h.uint(uint64(len(obj.VV)))
	for _, e := range obj.VV {
		h.actor(e.Actor)
		h.uint(e.Counter)
	}
	h.uint(uint64(len(obj.Siblings)))
	for _, s := range obj.Siblings {
		h.actor(s.Dot.Actor)
		h.uint(s.Dot.Counter)
		if s.Tombstone {
			h.byte(1)
		} else {
			h.byte(0)
		}
		h.uint(uint64(len(s.Value)))
		h.uint(uint64(crc32.Checksum(s.Value, castagnoli)))
	}
	return mix64(uint64(h))
}

// castagnoli is CRC-32C: hardware-accelerated on amd64 and arm64, and good
// at catching the bit flips and torn writes of silent disk corruption.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Domain tags keep the state hash and the leaf hash of the same key apart
// (and apart from the ring's partition hash, plain FNV-1a of the key).
const (
	stateDomain = "shoal/merkle/state/v1"
	leafDomain  = "shoal/merkle/leaf/v1"
)

// The accumulators after each domain tag, computed once.
var (
	stateSeed = newFNV(stateDomain)
	leafSeed  = newFNV(leafDomain)
)

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// fnv is an FNV-1a 64 accumulator over a length-prefixed encoding.
type fnv uint64

func newFNV(domain string) fnv {
	h := fnv(fnvOffset64)
	for i := range len(domain) {
		h.byte(domain[i])
	}
	return h
}

func (h *fnv) byte(b byte) {
	*h = (*h ^ fnv(b)) * fnvPrime64
}

// uint writes x as 8 little-endian bytes.
func (h *fnv) uint(x uint64) {
	for range 8 {
		h.byte(byte(x))
		x >>= 8
	}
}

// bytes writes len(b) and then b.
func (h *fnv) bytes(b []byte) {
	h.uint(uint64(len(b)))
	for _, c := range b {
		h.byte(c)
	}
}

func (h *fnv) actor(a dvv.Actor) {
	h.uint(uint64(len(a.Node)))
	for i := range len(a.Node) {
		h.byte(a.Node[i])
	}
	h.uint(a.Epoch)
}

// mix64 is the splitmix64 finalizer, a bijection that spreads every input
// bit over every output bit.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fmix64 is MurmurHash3's 64-bit finalizer: a second bijection, used for the
// leaf hash so that it is not the state hash's mixer over another input.
func fmix64(z uint64) uint64 {
	z ^= z >> 33
	z *= 0xff51afd7ed558ccd
	z ^= z >> 33
	z *= 0xc4ceb9fe1a85ec53
	return z ^ (z >> 33)
}
