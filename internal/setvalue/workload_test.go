package setvalue_test

import (
	"math/rand/v2"
	"testing"

	"github.com/shoalkv/shoal/internal/history"
	"github.com/shoalkv/shoal/internal/setvalue"
)

// simulate runs rounds of concurrent adds against a toy store that keeps
// siblings as a Dynamo store does: in each round, writers read the same
// siblings, each writes resolve(siblings, its element), and the writes,
// concurrent with one another, become the new siblings. Every add is
// acknowledged. It returns the history and the final read.
func simulate(t *testing.T, resolve func([][]byte, uint64, int64) ([]byte, error)) ([]history.Event, map[string]history.Read) {
	rng := rand.New(rand.NewPCG(9, 9))
	rec := history.New()
	var siblings [][]byte
	next, now := uint64(0), int64(0)
	for range 20 {
		var written [][]byte
		for w := range 1 + rng.IntN(3) {
			op := rec.Invoke(w, history.AddF, "k", next)
			now++
			v, err := resolve(siblings, next, now)
			if err != nil {
				t.Fatal(err)
			}
			written = append(written, v)
			op.Ok()
			next++
		}
		siblings = written
	}
	final, err := setvalue.Merge(siblings)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Events(), map[string]history.Read{"k": {Elements: final.Elements, Siblings: len(siblings)}}
}

// TestCheckerCatchesLastWriteWins is the negative control end to end: the
// same concurrent workload passes the set checker with Union and fails it
// with LastWriteWins.
func TestCheckerCatchesLastWriteWins(t *testing.T) {
	events, final := simulate(t, setvalue.Union)
	r, err := history.CheckSet(events, final)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Valid() || r.Total.Acknowledged == 0 {
		t.Fatalf("Union:\n%s", r)
	}
	events, final = simulate(t, setvalue.LastWriteWins)
	r, err = history.CheckSet(events, final)
	if err != nil {
		t.Fatal(err)
	}
	if r.Valid() || r.Total.Lost == 0 {
		t.Fatalf("LastWriteWins lost nothing:\n%s", r)
	}
	t.Logf("LastWriteWins, as the checker reports it:\n%s", r)
}
