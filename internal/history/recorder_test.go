package history

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestRecorderConcurrentOpsAreWellFormed(t *testing.T) {
	r := New()
	const procs, each = 8, 200
	var wg sync.WaitGroup
	for p := range procs {
		wg.Go(func() {
			for i := range each {
				op := r.Invoke(p, AddF, "k", uint64(p*each+i))
				switch i % 3 {
				case 0:
					op.Ok()
				case 1:
					op.Fail(errors.New("refused"))
				default:
					op.Unknown(errors.New("timeout"))
				}
			}
		})
	}
	wg.Go(func() { r.Note(-1, "kill n2") })
	wg.Wait()
	ev := r.Events()
	if want := 2*procs*each + 1; len(ev) != want {
		t.Fatalf("%d events, want %d", len(ev), want)
	}
	open := map[int]Event{} // invocations by op
	done := map[int]bool{}
	lastOp := map[int]int{} // process -> op in flight
	for i, e := range ev {
		if e.Index != i {
			t.Fatalf("event %d has index %d", i, e.Index)
		}
		if i > 0 && e.Time < ev[i-1].Time {
			t.Fatalf("event %d at %v before event %d at %v", i, e.Time, i-1, ev[i-1].Time)
		}
		switch e.Type {
		case Invoke:
			if lastOp[e.Process] != 0 {
				t.Fatalf("process %d invokes op %d with op %d in flight", e.Process, e.Op, lastOp[e.Process])
			}
			open[e.Op], lastOp[e.Process] = e, e.Op
		case Ok, Fail, Unknown:
			inv, ok := open[e.Op]
			if !ok || done[e.Op] || inv.Process != e.Process || inv.Value != e.Value || inv.Key != e.Key {
				t.Fatalf("completion %+v does not match an open invocation (%+v)", e, inv)
			}
			if (e.Type == Ok) != (e.Err == "") {
				t.Fatalf("completion %+v: error text and type disagree", e)
			}
			done[e.Op], lastOp[e.Process] = true, 0
		case Note:
			if e.Text != "kill n2" || e.Process != -1 || e.Op != 0 {
				t.Fatalf("note %+v", e)
			}
		default:
			t.Fatalf("event %+v of unknown type", e)
		}
	}
	rep, err := CheckSet(ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Attempted != procs*each || rep.Total.Unknown+rep.Total.Failed+rep.Total.Acknowledged != procs*each {
		t.Fatalf("checker counts disagree with the history:\n%s", rep)
	}
}

func TestOpCompletedTwicePanics(t *testing.T) {
	op := New().Invoke(1, AddF, "k", 7)
	op.Ok()
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "completed twice") {
			t.Fatalf("recovered %v, want a panic about completing twice", p)
		}
	}()
	op.Unknown(errors.New("late"))
}

func TestJSONLRoundTrip(t *testing.T) {
	r := New()
	r.Invoke(0, AddF, "k1", 0).Ok()
	r.Note(-1, "partition [n1] | [n2 n3]")
	r.Invoke(1, AddF, "k2", 1<<63+5).Unknown(errors.New("context deadline exceeded"))
	r.Invoke(2, AddF, "k1", 3) // never completed
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := r.WriteJSONL(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadJSONL(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := r.Events(); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
	}
	raw, _ := os.ReadFile(path)
	if lines := strings.Count(string(raw), "\n"); lines != 6 {
		t.Fatalf("%d lines, want 6:\n%s", lines, raw)
	}
	if _, err := ReadJSONL(strings.NewReader(`{"index":0,"bogus":1}`)); err == nil {
		t.Fatal("ReadJSONL accepted an unknown field")
	}
	if err := r.WriteJSONL(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Fatal("WriteJSONL into a missing directory succeeded")
	}
}
