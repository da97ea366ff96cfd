package driver

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

func TestDistinctKeepsFirstOccurrences(t *testing.T) {
	in := [][]byte{[]byte("x"), []byte("y"), []byte("x"), {}, []byte("y"), {}}
	got := distinct(in)
	want := []string{"x", "y", ""}
	if len(got) != len(want) {
		t.Fatalf("distinct = %q", got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("distinct = %q, want %q", got, want)
		}
	}
	if string(in[1]) != "y" || string(in[2]) != "x" {
		t.Fatal("distinct modified its input")
	}
}

func TestContextRoundTripAndRejectsGarbage(t *testing.T) {
	var s dvv.Set
	s, _ = s.Update(dvv.Actor{Node: "n1", Epoch: 7}, nil, []byte("v"), false)
	s, _ = s.Update(dvv.Actor{Node: "n2", Epoch: 9}, nil, []byte("w"), false)
	c := encodeContext(s.VV)
	vv, err := decodeContext(c)
	if err != nil || !vv.Equal(s.VV) {
		t.Fatalf("round trip: %v %v", vv, err)
	}
	if vv, err := decodeContext(nil); err != nil || vv != nil {
		t.Fatalf("empty context: %v %v", vv, err)
	}
	if encodeContext(nil) != nil {
		t.Fatal("empty vv should encode to a nil context")
	}
	for _, bad := range []Context{{0xc1}, {0x91}, append(slices.Clone(c), 0)} {
		if _, err := decodeContext(bad); !errors.Is(err, ErrBadContext) {
			t.Fatalf("decodeContext(%x) = %v, want ErrBadContext", bad, err)
		}
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	err := Config{N: 3, R: 4, W: -1, Timeout: -time.Second}.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"seed", "tls", "r=4", "w=-1", "negative duration"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestQuorumErrorMatchesUnavailableAndCauses(t *testing.T) {
	cause := fmt.Errorf("boom: %w", wire.ErrStorage)
	err := error(&QuorumError{Op: "put", Needed: 2, Acked: 1, Causes: []ReplicaError{{Node: "n2", Err: cause}}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatal("QuorumError does not match ErrUnavailable")
	}
	if !errors.Is(err, wire.ErrStorage) {
		t.Fatal("QuorumError hides its causes")
	}
	if errors.Is(err, ErrNotFound) {
		t.Fatal("QuorumError matches ErrNotFound")
	}
	var qe *QuorumError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &qe) || qe.Needed != 2 || qe.Acked != 1 {
		t.Fatal("errors.As lost the counts")
	}
	for _, want := range []string{"put", "1 of 2", "n2"} {
		if !contains(err.Error(), want) {
			t.Errorf("%q does not mention %q", err, want)
		}
	}
}

func TestSortCausesByNode(t *testing.T) {
	cs := sortCauses([]ReplicaError{{Node: "n3"}, {Node: "n1"}, {Node: "n2"}})
	if cs[0].Node != "n1" || cs[1].Node != "n2" || cs[2].Node != "n3" {
		t.Fatalf("sortCauses = %v", cs)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
