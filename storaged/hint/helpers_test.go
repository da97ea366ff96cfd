package hint

import (
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

var (
	actorA = dvv.Actor{Node: "n1", Epoch: 7}
	actorB = dvv.Actor{Node: "n2", Epoch: 9}
)

// sampleObject is a valid set with two concurrent siblings.
func sampleObject(t testing.TB) dvv.Set {
	t.Helper()
	a, _ := dvv.Set{}.Update(actorA, nil, []byte("apple"), false)
	b, _ := dvv.Set{}.Update(actorB, nil, nil, true)
	s := dvv.Merge(a, b)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// mustEncode encodes r, failing the test on error.
func mustEncode(t testing.TB, r Record) []byte {
	t.Helper()
	b, err := EncodeRecord(r)
	if err != nil {
		t.Fatalf("EncodeRecord: %v", err)
	}
	return b
}
