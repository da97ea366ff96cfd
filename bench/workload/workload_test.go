package workload

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/bench/generator"
	"github.com/shoalkv/shoal/bench/props"
	"github.com/shoalkv/shoal/ringsync/ring"
)

func coreWorkload(t *testing.T, name string) Workload {
	t.Helper()
	p, err := Core(name)
	if err != nil {
		t.Fatal(err)
	}
	p["recordcount"] = "10000"
	w, err := FromProps(p, name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestCoreWorkloads(t *testing.T) {
	for _, tc := range []struct {
		name             string
		read, upd, ins   float64
		rmw              float64
		dist             string
		wantSize, fields int
	}{
		{"a", 0.5, 0.5, 0, 0, Zipfian, 1000, 10},
		{"b", 0.95, 0.05, 0, 0, Zipfian, 1000, 10},
		{"c", 1, 0, 0, 0, Zipfian, 1000, 10},
		{"d", 0.95, 0, 0.05, 0, Latest, 1000, 10},
		{"workloadf", 0.5, 0, 0, 0.5, Zipfian, 1000, 10},
	} {
		w := coreWorkload(t, tc.name)
		if w.ReadProportion != tc.read || w.UpdateProportion != tc.upd || w.InsertProportion != tc.ins ||
			w.ReadModifyWriteProportion != tc.rmw || w.Distribution != tc.dist {
			t.Errorf("%s: got %+v", tc.name, w)
		}
		if w.ValueSize() != tc.wantSize || w.FieldCount != tc.fields || w.ZipfianConstant != 0.99 {
			t.Errorf("%s: value size %d, fields %d, theta %v", tc.name, w.ValueSize(), w.FieldCount, w.ZipfianConstant)
		}
	}
}

func TestWorkloadERefusedWithReason(t *testing.T) {
	p, err := Core("e")
	if err != nil {
		t.Fatal(err)
	}
	_, err = FromProps(p, "e")
	if !errors.Is(err, ErrScan) {
		t.Fatalf("workload e: err = %v, want ErrScan", err)
	}
	for _, why := range []string{"scan", "Dynamo", "ring"} {
		if !strings.Contains(err.Error(), why) {
			t.Errorf("refusal %q does not mention %q", err, why)
		}
	}
	// Any scan proportion is refused, not just workload E's.
	_, err = FromProps(props.Props{"scanproportion": "0.01"}, "custom")
	if !errors.Is(err, ErrScan) {
		t.Errorf("scanproportion=0.01: err = %v, want ErrScan", err)
	}
}

func TestInvalidWorkloadListsEveryProblem(t *testing.T) {
	_, err := FromProps(props.Props{
		"recordcount": "0", "requestdistribution": "hotspot", "readproportion": "-1", "insertorder": "random",
	}, "bad")
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, want := range []string{"recordcount", "hotspot", "readproportion", "insertorder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := FromProps(props.Props{"workload": "site.ycsb.workloads.TimeSeriesWorkload"}, "ts"); err == nil {
		t.Error("a non-core workload class was accepted")
	}
	if _, err := Core("g"); err == nil {
		t.Error("core workload g accepted")
	}
}

func TestKeys(t *testing.T) {
	w := coreWorkload(t, "a")
	seen := map[string]bool{}
	for i := range int64(10000) {
		k := string(w.Key(i))
		if !strings.HasPrefix(k, "user") || seen[k] {
			t.Fatalf("key %q of record %d is malformed or repeated", k, i)
		}
		seen[k] = true
	}
	w.InsertOrder, w.ZeroPadding = Ordered, 6
	if k := string(w.Key(42)); k != "user000042" {
		t.Errorf("ordered key = %q, want user000042", k)
	}
}

// TestScrambledHotKeysSpreadAcrossPartitions maps the run's hottest keys to
// partitions of a real 3-node ring (Q=4096) and checks they land on distinct
// partitions, spread over every node, rather than on a few.
func TestScrambledHotKeysSpreadAcrossPartitions(t *testing.T) {
	rg, err := ring.New(ring.DefaultPartitions, []ring.Node{
		{ID: "n1", Addr: "127.0.0.1:7070"}, {ID: "n2", Addr: "127.0.0.2:7070"}, {ID: "n3", Addr: "127.0.0.3:7070"},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := coreWorkload(t, "a")
	w.RecordCount = 100_000
	plan, err := NewPlan(w)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 11))
	counts := map[string]int{}
	const draws = 200_000
	for range draws {
		req := plan.Next(r)
		counts[string(req.Key)]++
		plan.Done(req)
	}
	hot := hottest(counts, 100)
	parts := map[int]bool{}
	perNode := map[ring.NodeID]int{}
	for _, k := range hot {
		p := rg.PartitionOf([]byte(k))
		parts[p] = true
		perNode[rg.Owner(p)]++
	}
	// 100 keys thrown at random into 4096 partitions share one with
	// probability ~1.2% each: about 99 distinct partitions expected.
	if len(parts) < 95 {
		t.Errorf("the 100 hottest keys fall into only %d partitions", len(parts))
	}
	for _, n := range rg.Nodes() {
		// Binomial(100, 1/3): mean 33, sd 4.7; 15..52 is beyond 3.5 sd.
		if c := perNode[n.ID]; c < 15 || c > 52 {
			t.Errorf("node %s owns the partitions of %d of the 100 hottest keys: %v", n.ID, c, perNode)
		}
	}
	// The hottest key is drawn about as often as zipfian(0.99) says for
	// rank 0 of 100,000 records (p ~ 0.081).
	if top := counts[hot[0]]; top < draws*7/100 || top > draws*9/100 {
		t.Errorf("the hottest key was drawn %d of %d times, want about 8.1%%", top, draws)
	}
}

// hottest returns the n most drawn keys, hottest first (ties by key).
func hottest(counts map[string]int, n int) []string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys[:min(n, len(keys))]
}

// TestZipfianYCSBIsOptIn: zipfian.ycsb=true picks YCSB's scrambled zipfian;
// without it the default chooser stays.
func TestZipfianYCSBIsOptIn(t *testing.T) {
	for _, c := range []struct {
		set  string
		ycsb bool
	}{{"", false}, {"false", false}, {"true", true}} {
		p, _ := Core("a")
		if c.set != "" {
			p["zipfian.ycsb"] = c.set
		}
		w, err := FromProps(p, "a")
		if err != nil {
			t.Fatal(err)
		}
		plan, err := NewPlan(w)
		if err != nil {
			t.Fatal(err)
		}
		_, isYCSB := plan.chooser.(*generator.YCSBScrambled)
		_, isDefault := plan.chooser.(*generator.Scrambled)
		if w.ZipfianYCSB != c.ycsb || isYCSB != c.ycsb || isDefault == c.ycsb ||
			strings.Contains(w.Describe(), "YCSB's scrambling") != c.ycsb {
			t.Errorf("zipfian.ycsb=%q: ZipfianYCSB %v, chooser %T", c.set, w.ZipfianYCSB, plan.chooser)
		}
	}
	p, _ := Core("a")
	p["zipfian.ycsb"] = "maybe"
	if _, err := FromProps(p, "a"); !errors.Is(err, ErrInvalid) {
		t.Errorf("zipfian.ycsb=maybe: %v, want ErrInvalid", err)
	}
}

func TestPlanMixAndInserts(t *testing.T) {
	w := coreWorkload(t, "d")
	w.RecordCount = 1000
	plan, err := NewPlan(w)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	byOp := map[Op]int{}
	newest := string(w.Key(999))
	for range 10_000 {
		req := plan.Next(r)
		byOp[req.Op]++
		switch req.Op {
		case Insert:
			if len(req.Value) != w.ValueSize() {
				t.Fatalf("insert value of %d bytes", len(req.Value))
			}
			newest = string(req.Key)
		case Read:
			if req.Value != nil {
				t.Fatal("read with a value")
			}
		}
		plan.Done(req)
	}
	if byOp[Insert] < 400 || byOp[Insert] > 600 || byOp[Update] != 0 || byOp[Read]+byOp[Insert] != 10_000 {
		t.Errorf("mix %v, want ~5%% inserts, the rest reads", byOp)
	}
	if plan.inserts.Limit() != 1000+int64(byOp[Insert]) {
		t.Errorf("after %d acknowledged inserts %d records exist, want %d", byOp[Insert], plan.inserts.Limit(), 1000+byOp[Insert])
	}
	// "latest": the record inserted last is the one read most.
	reads := map[string]int{}
	for range 20_000 {
		reads[string(plan.w.Key(plan.chooser.Next(r, plan.inserts.Limit())))]++
	}
	if got := hottest(reads, 1)[0]; got != newest {
		t.Errorf("hottest read %q, want the newest record %q", got, newest)
	}
}

func TestReadModifyWriteModifierIsDeterministic(t *testing.T) {
	w := coreWorkload(t, "f")
	plan, err := NewPlan(w)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var req Request
	for req.Op != ReadModifyWrite {
		req = plan.Next(r)
	}
	db := &recordingDB{}
	if err := plan.Exec(t.Context(), db, req); err != nil {
		t.Fatal(err)
	}
	old := bytes.Repeat([]byte{'x'}, w.ValueSize())
	a, b := db.modify(old), db.modify(old)
	if !bytes.Equal(a, b) || len(a) != w.ValueSize() {
		t.Fatalf("modify is not deterministic or changes the size: %d, %d bytes", len(a), len(b))
	}
	off := req.Field * w.FieldLength
	if !bytes.Equal(a[off:off+w.FieldLength], req.Value) || !bytes.Equal(a[:off], old[:off]) {
		t.Error("modify does not replace exactly the chosen field")
	}
	if got := db.modify(nil); len(got) != w.ValueSize() {
		t.Errorf("modify(nil) gives %d bytes", len(got))
	}
}

type recordingDB struct{ modify func([]byte) []byte }

func (d *recordingDB) Read(context.Context, []byte) error           { return nil }
func (d *recordingDB) Update(context.Context, []byte, []byte) error { return nil }
func (d *recordingDB) Insert(context.Context, []byte, []byte) error { return nil }
func (d *recordingDB) ReadModifyWrite(_ context.Context, _ []byte, m func([]byte) []byte) error {
	d.modify = m
	return nil
}

func TestStatusOf(t *testing.T) {
	if StatusOf(nil) != OK || StatusOf(fmt.Errorf("x: %w", ErrNotFound)) != NotFound || StatusOf(errors.New("boom")) != Error {
		t.Error("StatusOf misclassifies")
	}
}

// TestShippedWorkloadFilesMatchPresets: bench/workloads/workloadX, read as
// a -P file, is the same workload as --workload X.
func TestShippedWorkloadFilesMatchPresets(t *testing.T) {
	for _, name := range CoreNames {
		p, err := props.ReadFile("../workloads/workload" + name)
		if err != nil {
			t.Fatal(err)
		}
		fromFile, ferr := FromProps(p, name)
		preset, _ := Core(name)
		preset["recordcount"], preset["operationcount"] = p["recordcount"], p["operationcount"]
		fromPreset, perr := FromProps(preset, name)
		if name == "e" {
			if !errors.Is(ferr, ErrScan) || !errors.Is(perr, ErrScan) {
				t.Errorf("workload e: file %v, preset %v; want ErrScan", ferr, perr)
			}
			continue
		}
		if ferr != nil || perr != nil {
			t.Fatalf("workload %s: file %v, preset %v", name, ferr, perr)
		}
		if fromFile != fromPreset {
			t.Errorf("workload %s: file gives %+v, preset %+v", name, fromFile, fromPreset)
		}
	}
}
