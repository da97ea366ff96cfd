package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
)

// partitionTests are the cases about the Objects layout by partition.
var partitionTests = []struct {
	name string
	test func(t *testing.T, h Harness)
}{
	{"Durable", testDurable},
	{"ScanPartitionOrder", testScanPartitionOrder},
	{"ScanPartitionFrom", testScanPartitionFrom},
	{"ScanPartitionInvalid", testScanPartitionInvalid},
	{"ScanPartitionCorrupt", testScanPartitionCorrupt},
	{"ObjectsScanOrder", testObjectsScanOrder},
}

// partitionKeys are object keys the partition tests write: byte neighbours,
// prefixes of each other, and bytes that look like a partition prefix.
var partitionKeys = []string{
	"a", "a\x00", "aa", "ab", "b", "b\x00", "b1", "b2", "ba", "b\xff", "c",
	"\x00", "\x00\x00", "\x00\x01", "\xff", "\xff\xff", "k-000", "k-001", "k-002", "k-003",
}

// byPartition writes partitionKeys (value "v"+key) and returns them by
// partition, each in byte order.
func byPartition(t *testing.T, h Harness, e store.Engine) [][]string {
	t.Helper()
	keys := h.Partitioning()
	want := make([][]string, keys.Count())
	for _, k := range partitionKeys {
		mustSet(t, e, store.Objects, k, "v"+k)
		q, err := keys.Of([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		want[q] = append(want[q], k)
	}
	for _, ks := range want {
		slices.Sort(ks) // Go's string order is byte order
	}
	return want
}

// scanPartition returns the keys ScanPartition(q, from) visits, up to limit,
// checking their values.
func scanPartition(t *testing.T, e store.Engine, q int, from []byte, limit int) []string {
	t.Helper()
	var got []string
	err := e.ScanPartition(q, from, func(k, v []byte) bool {
		if string(v) != "v"+string(k) {
			t.Errorf("partition %d: value of %q = %q", q, k, v)
		}
		got = append(got, string(k))
		return len(got) < limit
	})
	if err != nil {
		t.Errorf("ScanPartition(%d, %q): %v", q, from, err)
	}
	return got
}

// testScanPartitionOrder: every partition's scan returns exactly its keys,
// in byte order, with their values, through Engine and View alike, after a
// reopen too; the partitions together hold every key once.
func testScanPartitionOrder(t *testing.T, h Harness) {
	e := mustOpen(t, h.Open)
	want := byPartition(t, h, e)
	mustSet(t, e, store.Hints, "a", "hint") // other buckets stay out
	check := func(e store.Engine) {
		t.Helper()
		total := 0
		for q, ks := range want {
			got := scanPartition(t, e, q, nil, 1000)
			if !slices.Equal(got, ks) {
				t.Errorf("ScanPartition(%d) = %q, want %q", q, got, ks)
			}
			total += len(got)
			var viewed []string
			err := e.View(func(v store.View) error {
				return v.ScanPartition(q, nil, func(k, _ []byte) bool { viewed = append(viewed, string(k)); return true })
			})
			if err != nil || !slices.Equal(viewed, ks) {
				t.Errorf("View.ScanPartition(%d) = %q, %v; want %q", q, viewed, err, ks)
			}
		}
		if total != len(partitionKeys) {
			t.Errorf("the partitions hold %d keys together, want %d", total, len(partitionKeys))
		}
	}
	check(e)
	closeT(t, e)
	check(mustOpen(t, h.Open))
}

// testScanPartitionFrom: from is a position (present or absent key, before
// or past the partition's keys); fn returning false stops the scan.
func testScanPartitionFrom(t *testing.T, h Harness) {
	e := mustOpen(t, h.Open)
	for q, ks := range byPartition(t, h, e) {
		for i, k := range ks {
			if got := scanPartition(t, e, q, []byte(k), 1000); !slices.Equal(got, ks[i:]) {
				t.Errorf("ScanPartition(%d, from %q) = %q, want %q", q, k, got, ks[i:])
			}
			absent := k + "\x00\x00\x00" // not a key: from lands between two
			rest := slices.DeleteFunc(slices.Clone(ks), func(k string) bool { return k < absent })
			if got := scanPartition(t, e, q, []byte(absent), 1000); !slices.Equal(got, rest) || slices.Equal(rest, ks[i:]) {
				t.Errorf("ScanPartition(%d, from %q) = %q, want %q", q, absent, got, rest)
			}
		}
		if got := scanPartition(t, e, q, []byte("\xff\xff\xff"), 1000); len(got) != 0 {
			t.Errorf("ScanPartition(%d, from past the end) = %q, want none", q, got)
		}
		if len(ks) > 1 {
			if got := scanPartition(t, e, q, nil, 1); !slices.Equal(got, ks[:1]) {
				t.Errorf("ScanPartition(%d) stopped after one = %q, want %q", q, got, ks[:1])
			}
		}
	}
}

// testScanPartitionInvalid: partitions outside [0, Count) are refused with
// an error naming the range; fn is never called.
func testScanPartitionInvalid(t *testing.T, h Harness) {
	e := mustOpen(t, h.Open)
	mustSet(t, e, store.Objects, "k", "v")
	n := h.Partitioning().Count()
	for _, q := range []int{-1, n, n + 1, store.MaxPartitions} {
		calls := 0
		err := e.ScanPartition(q, nil, func(k, v []byte) bool { calls++; return true })
		if !errors.Is(err, store.ErrInvalidPartition) || calls != 0 || !strings.Contains(err.Error(), fmt.Sprintf("want 0 to %d", n-1)) {
			t.Errorf("ScanPartition(%d) = %v after %d calls; want ErrInvalidPartition naming 0 to %d", q, err, calls, n-1)
		}
	}
}

// testScanPartitionCorrupt: a record that fails its checksum is skipped by
// its partition's scan, and counted; its neighbours are not.
func testScanPartitionCorrupt(t *testing.T, h Harness) {
	e := mustOpen(t, h.Open)
	want := byPartition(t, h, e)
	closeT(t, e)
	const bad = "b1"
	setRecord(t, h, store.Objects, bad, flipLast(record(t, h, store.Objects, bad)))
	e = mustOpen(t, h.Open)
	q, _ := h.Partitioning().Of([]byte(bad))
	ks := slices.DeleteFunc(slices.Clone(want[q]), func(k string) bool { return k == bad })
	if got := scanPartition(t, e, q, nil, 1000); !slices.Equal(got, ks) {
		t.Errorf("ScanPartition(%d) over a corrupt %q = %q, want %q", q, bad, got, ks)
	}
	if st := e.Stats(); st.CorruptReads != 1 || st.CorruptRecords != 1 {
		t.Errorf("Stats after the scan: %d corrupt reads, %d records; want 1, 1", st.CorruptReads, st.CorruptRecords)
	}
	after := slices.DeleteFunc(slices.Clone(ks), func(k string) bool { return k < bad })
	if got := scanPartition(t, e, q, []byte(bad), 1000); !slices.Equal(got, after) {
		t.Errorf("ScanPartition(%d, from the corrupt %q) = %q, want %q", q, bad, got, after)
	}
}

// testObjectsScanOrder: ForEach and View.Scan visit objects partition by
// partition, each in byte order; from is a position in that order and a
// prefix selects in every partition.
func testObjectsScanOrder(t *testing.T, h Harness) {
	e := mustOpen(t, h.Open)
	var order []string
	for _, ks := range byPartition(t, h, e) {
		order = append(order, ks...)
	}
	var got []string
	if err := e.ForEach(store.Objects, func(k, _ []byte) error { got = append(got, string(k)); return nil }); err != nil || !slices.Equal(got, order) {
		t.Errorf("ForEach(objects) = %q, %v; want %q", got, err, order)
	}
	scan := func(from, prefix string) []string {
		var out []string
		var fromB, prefixB []byte
		if from != "" {
			fromB = []byte(from)
		}
		if prefix != "" {
			prefixB = []byte(prefix)
		}
		err := e.View(func(v store.View) error {
			return v.Scan(store.Objects, fromB, prefixB, func(k, _ []byte) bool { out = append(out, string(k)); return true })
		})
		if err != nil {
			t.Errorf("Scan(objects, %q, %q): %v", from, prefix, err)
		}
		return out
	}
	for i, k := range order {
		if got := scan(k, ""); !slices.Equal(got, order[i:]) {
			t.Errorf("Scan(objects, from %q) = %q, want %q", k, got, order[i:])
		}
	}
	var withB []string
	for _, k := range order {
		if strings.HasPrefix(k, "b") {
			withB = append(withB, k)
		}
	}
	if got := scan("", "b"); !slices.Equal(got, withB) {
		t.Errorf("Scan(objects, prefix b) = %q, want %q", got, withB)
	}
}
