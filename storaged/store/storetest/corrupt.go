package storetest

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
)

// corruptTests are the cases that damage records through the Harness.
var corruptTests = []struct {
	name string
	test func(t *testing.T, h Harness)
}{
	{"RecordFormat", testRecordFormat},
	{"CorruptNeverServed", testCorruptNeverServed},
	{"CorruptRecordMoved", testCorruptRecordMoved},
	{"ChecksumIsTheCheck", testChecksumIsTheCheck},
	{"ApplyOverCorrupt", testApplyOverCorrupt},
	{"RefuseCorrupt", testRefuseCorrupt},
	{"DeleteCorrupt", testDeleteCorrupt},
	{"CorruptEpoch", testCorruptEpoch},
}

// seed writes k1=v1 and k2=v2 in every bucket and closes the store.
func seed(t *testing.T, h Harness) {
	t.Helper()
	e, err := h.Open()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range store.Buckets() {
		mustSet(t, e, b, "k1", "v1")
		mustSet(t, e, b, "k2", "v2")
	}
	closeT(t, e)
}

// record returns the stored bytes of key, failing the test if it is absent.
func record(t *testing.T, h Harness, b store.Bucket, key string) []byte {
	t.Helper()
	rec, ok, err := h.Record(b, []byte(key))
	if err != nil || !ok {
		t.Fatalf("Record(%s, %q) = %v, %v", b, key, ok, err)
	}
	return rec
}

// setRecord stores rec as key's bytes, failing the test on an error.
func setRecord(t *testing.T, h Harness, b store.Bucket, key string, rec []byte) {
	t.Helper()
	if err := h.SetRecord(b, []byte(key), rec); err != nil {
		t.Fatalf("SetRecord(%s, %q): %v", b, key, err)
	}
}

// flipLast returns rec with its last byte changed.
func flipLast(rec []byte) []byte {
	c := bytes.Clone(rec)
	c[len(c)-1] ^= 0x40
	return c
}

// wantCorrupt fails the test unless every read path treats key as a corrupt,
// absent record: Get and View.Get return an error matching ErrCorrupt and
// ErrNotFound (and no value); Scan and ForEach skip it.
func wantCorrupt(t *testing.T, e store.Engine, b store.Bucket, key string) {
	t.Helper()
	v, err := e.Get(b, []byte(key))
	if !errors.Is(err, store.ErrCorrupt) || !errors.Is(err, store.ErrNotFound) || v != nil {
		t.Errorf("Get(%s, %q) = %q, %v; want no value and an error matching ErrCorrupt and ErrNotFound", b, key, v, err)
	}
	var ce *store.CorruptError
	if errors.As(err, &ce) && (ce.Bucket != b || ce.KeyHash != store.KeyHash([]byte(key))) {
		t.Errorf("CorruptError names bucket %s, key %s; want %s, %s", ce.Bucket, ce.KeyHash, b, store.KeyHash([]byte(key)))
	}
	err = e.View(func(vw store.View) error {
		v, err := vw.Get(b, []byte(key))
		if !errors.Is(err, store.ErrCorrupt) || !errors.Is(err, store.ErrNotFound) || v != nil {
			t.Errorf("View.Get(%s, %q) = %q, %v; want an error matching ErrCorrupt and ErrNotFound", b, key, v, err)
		}
		return vw.Scan(b, nil, nil, func(k, _ []byte) bool {
			if string(k) == key {
				t.Errorf("Scan(%s) visited corrupt key %q", b, key)
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ForEach(b, func(k, _ []byte) error {
		if string(k) == key {
			t.Errorf("ForEach(%s) visited corrupt key %q", b, key)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// contents returns what ForEach sees in bucket b.
func contents(t *testing.T, e store.Engine, b store.Bucket) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err := e.ForEach(b, func(k, v []byte) error {
		got[string(k)] = string(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// testRecordFormat: the implementation keeps each value as
// store.AppendRecord frames it, bound to its bucket and key.
func testRecordFormat(t *testing.T, h Harness) {
	seed(t, h)
	for _, b := range store.Buckets() {
		for _, k := range []string{"k1", "k2"} {
			want := store.AppendRecord(nil, b, []byte(k), []byte("v"+k[1:]))
			if got := record(t, h, b, k); !bytes.Equal(got, want) {
				t.Errorf("record of %s %q = %x, want %x", b, k, got, want)
			}
			if v, err := store.OpenRecord(b, []byte(k), want); err != nil || string(v) != "v"+k[1:] {
				t.Errorf("OpenRecord(%s, %q) = %q, %v", b, k, v, err)
			}
		}
	}
	if _, ok, err := h.Record(store.Objects, []byte("absent")); ok || err != nil {
		t.Errorf("Record of an absent key: %v, %v", ok, err)
	}
}

// testCorruptNeverServed: a record with a flipped payload byte, a
// truncated one, one with an unknown format byte and an empty one are never
// returned by any read, in any bucket; the others are untouched; each read
// counts, each record is counted once.
func testCorruptNeverServed(t *testing.T, h Harness) {
	seed(t, h)
	damage := map[string]func([]byte) []byte{
		"flipped":   flipLast,
		"truncated": func(rec []byte) []byte { return rec[:len(rec)-1] },
		"header":    func(rec []byte) []byte { return rec[:store.RecordOverhead-1] },
		"format":    func(rec []byte) []byte { c := bytes.Clone(rec); c[0] ^= 0x80; return c },
		"empty":     func([]byte) []byte { return []byte{} },
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			for _, b := range store.Buckets() {
				setRecord(t, h, b, "k1", fn(record(t, h, b, "k1")))
			}
			e := mustOpen(t, h.Open)
			for _, b := range store.Buckets() {
				wantCorrupt(t, e, b, "k1")
				wantValue(t, e, b, "k2", "v2")
				wantCount(t, e, b, 2+map[store.Bucket]int{store.Meta: 3}[b]) // corrupt records still count
			}
			st := e.Stats()
			// wantCorrupt reads each corrupt key 4 times (Get, View.Get,
			// Scan, ForEach), in 3 buckets.
			if st.CorruptReads != 12 || st.CorruptRecords != 3 {
				t.Errorf("Stats: %d corrupt reads of %d records, want 12 of 3", st.CorruptReads, st.CorruptRecords)
			}
			closeT(t, e)
			for _, b := range store.Buckets() {
				setRecord(t, h, b, "k1", store.AppendRecord(nil, b, []byte("k1"), []byte("v1")))
			}
		})
	}
}

// testCorruptRecordMoved: a record that verifies for another key, or for the
// same key in another bucket, does not verify where it is.
func testCorruptRecordMoved(t *testing.T, h Harness) {
	seed(t, h)
	setRecord(t, h, store.Objects, "k1", record(t, h, store.Objects, "k2"))
	setRecord(t, h, store.Hints, "k1", record(t, h, store.Objects, "k1"))
	e := mustOpen(t, h.Open)
	wantCorrupt(t, e, store.Objects, "k1")
	wantCorrupt(t, e, store.Hints, "k1")
	wantValue(t, e, store.Objects, "k2", "v2")
	wantValue(t, e, store.Meta, "k1", "v1")
}

// testChecksumIsTheCheck is the negative control of the corruption tests:
// the same changed payload, with its checksum recomputed, is served. So it
// is the checksum that refuses a damaged record, and SetRecord really
// reaches what reads see.
func testChecksumIsTheCheck(t *testing.T, h Harness) {
	seed(t, h)
	setRecord(t, h, store.Objects, "k1", store.AppendRecord(nil, store.Objects, []byte("k1"), []byte("v1 rewritten")))
	setRecord(t, h, store.Objects, "k2", flipLast(record(t, h, store.Objects, "k2")))
	e := mustOpen(t, h.Open)
	wantValue(t, e, store.Objects, "k1", "v1 rewritten")
	wantCorrupt(t, e, store.Objects, "k2")
}

// testApplyOverCorrupt: Apply and ApplyThen see a corrupt record as absent
// (old is nil) and what they return replaces it with a good record: how a
// merge heals a key. CompareAndDelete matches nothing on a corrupt record.
func testApplyOverCorrupt(t *testing.T, h Harness) {
	seed(t, h)
	setRecord(t, h, store.Objects, "k1", flipLast(record(t, h, store.Objects, "k1")))
	setRecord(t, h, store.Hints, "k1", flipLast(record(t, h, store.Hints, "k1")))
	e := mustOpen(t, h.Open)
	ctx := context.Background()
	if ok, err := e.CompareAndDelete(ctx, store.Objects, []byte("k1"), []byte("v1")); ok || err != nil {
		t.Errorf("CompareAndDelete over a corrupt record = %v, %v; want false, nil", ok, err)
	}
	err := e.Apply(ctx, store.Objects, []byte("k1"), func(old []byte) ([]byte, error) {
		if old != nil {
			t.Errorf("Apply over a corrupt record: old = %q, want nil", old)
		}
		return []byte("healed"), nil
	})
	if err != nil {
		t.Fatalf("Apply over a corrupt record: %v", err)
	}
	committed := false
	err = e.ApplyThen(ctx, store.Hints, []byte("k1"), func(old []byte) ([]byte, func(bool), error) {
		if old != nil {
			t.Errorf("ApplyThen over a corrupt record: old = %q, want nil", old)
		}
		return []byte("healed"), func(c bool) { committed = c }, nil
	})
	if err != nil || !committed {
		t.Fatalf("ApplyThen over a corrupt record: %v, committed %v", err, committed)
	}
	wantValue(t, e, store.Objects, "k1", "healed")
	wantValue(t, e, store.Hints, "k1", "healed")
	closeT(t, e)
	for _, b := range []store.Bucket{store.Objects, store.Hints} {
		if got, want := record(t, h, b, "k1"), store.AppendRecord(nil, b, []byte("k1"), []byte("healed")); !bytes.Equal(got, want) {
			t.Errorf("healed record of %s = %x, want %x", b, got, want)
		}
	}
}

// testRefuseCorrupt: with store.RefuseCorrupt, Apply and ApplyThen over a
// corrupt record fail with ErrCorrupt without calling their function, and
// the record stays as it is; over a good record or an absent key they work.
func testRefuseCorrupt(t *testing.T, h Harness) {
	seed(t, h)
	bad := flipLast(record(t, h, store.Objects, "k1"))
	setRecord(t, h, store.Objects, "k1", bad)
	e := mustOpen(t, h.Open)
	ctx := context.Background()
	called := false
	err := e.Apply(ctx, store.Objects, []byte("k1"), func([]byte) ([]byte, error) {
		called = true
		return []byte("x"), nil
	}, store.RefuseCorrupt)
	if !errors.Is(err, store.ErrCorrupt) || called {
		t.Errorf("Apply(RefuseCorrupt) over a corrupt record: %v, fn called %v; want ErrCorrupt, not called", err, called)
	}
	err = e.ApplyThen(ctx, store.Objects, []byte("k1"), func([]byte) ([]byte, func(bool), error) {
		called = true
		return []byte("x"), nil, nil
	}, store.RefuseCorrupt)
	if !errors.Is(err, store.ErrCorrupt) || called {
		t.Errorf("ApplyThen(RefuseCorrupt) over a corrupt record: %v, fn called %v; want ErrCorrupt, not called", err, called)
	}
	if err := e.Apply(ctx, store.Objects, []byte("k2"), put("v2b"), store.RefuseCorrupt); err != nil {
		t.Errorf("Apply(RefuseCorrupt) over a good record: %v", err)
	}
	if err := e.Apply(ctx, store.Objects, []byte("k3"), put("v3"), store.RefuseCorrupt); err != nil {
		t.Errorf("Apply(RefuseCorrupt) of an absent key: %v", err)
	}
	wantCorrupt(t, e, store.Objects, "k1")
	closeT(t, e)
	if got := record(t, h, store.Objects, "k1"); !bytes.Equal(got, bad) {
		t.Errorf("refused write changed the corrupt record: %x, want %x", got, bad)
	}
}

// testDeleteCorrupt: Delete removes a corrupt record; the key is then
// plainly absent.
func testDeleteCorrupt(t *testing.T, h Harness) {
	seed(t, h)
	setRecord(t, h, store.Hints, "k1", flipLast(record(t, h, store.Hints, "k1")))
	e := mustOpen(t, h.Open)
	if err := e.Delete(context.Background(), store.Hints, []byte("k1")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(store.Hints, []byte("k1")); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Get after deleting a corrupt record: %v, want a plain ErrNotFound", err)
	}
	if got := contents(t, e, store.Hints); !maps.Equal(got, map[string]string{"k2": "v2"}) {
		t.Errorf("hints = %q", got)
	}
	wantCount(t, e, store.Hints, 1)
}

// testCorruptEpoch: a store whose epoch's record is corrupt starts a new
// epoch (it may have lost writes), fresh; the other records stay.
func testCorruptEpoch(t *testing.T, h Harness) {
	e := mustOpen(t, h.Open)
	old := e.Epoch()
	mustSet(t, e, store.Objects, "k", "v")
	closeT(t, e)
	setRecord(t, h, store.Meta, string(store.EpochKey()), flipLast(record(t, h, store.Meta, string(store.EpochKey()))))
	e = mustOpen(t, h.Open)
	if !e.Fresh() || e.Epoch() == old || e.Epoch() == 0 {
		t.Errorf("after the epoch's record was damaged: Fresh %v, epoch %d (was %d); want fresh and a new one", e.Fresh(), e.Epoch(), old)
	}
	wantValue(t, e, store.Objects, "k", "v")
	closeT(t, e)
	e = mustOpen(t, h.Open)
	if e.Fresh() {
		t.Error("the new epoch was not recorded: still fresh on the next open")
	}
}
