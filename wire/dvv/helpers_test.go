package dvv

import (
	"bytes"
	"slices"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

var (
	n1 = Actor{Node: "n1", Epoch: 1}
	n2 = Actor{Node: "n2", Epoch: 1}
	n3 = Actor{Node: "n3", Epoch: 1}
)

func dot(a Actor, c uint64) Dot { return Dot{Actor: a, Counter: c} }

func sib(a Actor, c uint64, v string) Sibling {
	return Sibling{Dot: dot(a, c), Value: []byte(v)}
}

func tomb(a Actor, c uint64) Sibling {
	return Sibling{Dot: dot(a, c), Tombstone: true}
}

// deepClone copies s so that later comparisons detect any mutation of s.
func deepClone(s Set) Set {
	out := Set{VV: slices.Clone(s.VV)}
	for _, x := range s.Siblings {
		x.Value = bytes.Clone(x.Value)
		out.Siblings = append(out.Siblings, x)
	}
	return out
}

func mustValid(t testing.TB, s Set) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatalf("invalid set %v: %v", s, err)
	}
}

// raw encodes with the unvalidated encoders, to build inputs a decoder must
// reject.
func raw(t testing.TB, fn func(e *msgpack.Encoder) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := fn(msgpack.NewEncoder(&buf)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func rawVV(t testing.TB, v VV) []byte {
	return raw(t, func(e *msgpack.Encoder) error { return encodeVV(e, v) })
}

func rawSet(t testing.TB, s Set) []byte {
	return raw(t, func(e *msgpack.Encoder) error { return encodeSet(e, s) })
}

func values(s Set) []string {
	var out []string
	for _, v := range s.Values() {
		out = append(out, string(v))
	}
	return out
}
