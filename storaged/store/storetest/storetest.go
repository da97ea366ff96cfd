// Package storetest is the conformance suite of store.Engine: one set of
// tests that every implementation (*store.Store on bbolt, the simulator's
// memstore) must pass, pinning down the contract *store.Store documents.
// See DESIGN.md, section 5 (one conformance suite for every store
// implementation).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/shoalkv/shoal/storaged/store"
)

// Harness is how the suite reaches one store of an implementation.
type Harness struct {
	// Open opens the store. Every call of Open opens the same store, so the
	// suite can close and reopen it, and open it twice at once (which must
	// fail with store.ErrLocked).
	Open func() (store.Engine, error)
	// Record returns the bytes the implementation keeps for key in bucket b
	// (the record: store.AppendRecord's frame around the value) and
	// whether the key exists. It is called only while the store is closed.
	Record func(b store.Bucket, key []byte) ([]byte, bool, error)
	// SetRecord makes rec the bytes kept for key in bucket b, bypassing the
	// store and its checksum, as a damaged disk would. It is called only
	// while the store is closed.
	SetRecord func(b store.Bucket, key, rec []byte) error
	// Partition and Partitions are the layout Open opens the store with
	// (its Options' fields of the same names; both zero: one partition).
	Partition  func(key []byte) int
	Partitions int
}

// Partitioning returns the layout the Harness opens its store with.
func (h Harness) Partitioning() store.Partitioning {
	p, err := store.NewPartitioning(h.Partition, h.Partitions)
	if err != nil {
		panic(fmt.Sprintf("storetest: the Harness's layout: %v", err)) // a broken test setup
	}
	return p
}

// Run runs the conformance suite as subtests of t. For each subtest it
// calls fresh, which makes a new, empty store and returns its Harness. The
// suite closes every Engine it opens.
func Run(t *testing.T, fresh func(t *testing.T) Harness) {
	for _, tc := range partitionTests {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, fresh(t)) })
	}
	for _, tc := range corruptTests {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, fresh(t)) })
	}
	for _, tc := range []struct {
		name string
		test func(t *testing.T, open func() (store.Engine, error))
	}{
		{"ApplySeesOldValue", testApplySeesOldValue},
		{"ApplyCopiesResult", testApplyCopiesResult},
		{"ApplyNilLeavesKey", testApplyNilLeavesKey},
		{"ApplyFuncError", testApplyFuncError},
		{"ApplyNilFunc", testApplyNilFunc},
		{"EmptyValue", testEmptyValue},
		{"AtomicReadModifyWrite", testAtomicReadModifyWrite},
		{"CancelledContext", testCancelledContext},
		{"CancelWhileQueued", testCancelWhileQueued},
		{"Delete", testDelete},
		{"CompareAndDelete", testCompareAndDelete},
		{"ApplyThen", testApplyThen},
		{"ThenOrder", testThenOrder},
		{"CompareAndDeleteThen", testCompareAndDeleteThen},
		{"GetReturnsCopy", testGetReturnsCopy},
		{"InvalidBucket", testInvalidBucket},
		{"InvalidKey", testInvalidKey},
		{"EpochKeyReserved", testEpochKeyReserved},
		{"ViewSnapshot", testViewSnapshot},
		{"ViewScan", testViewScan},
		{"ViewError", testViewError},
		{"ForEachOrder", testForEachOrder},
		{"ForEachStops", testForEachStops},
		{"Count", testCount},
		{"Stats", testStats},
		{"PanicInApply", testPanicInApply},
		{"Epoch", testEpoch},
		{"Closed", testClosed},
		{"Locked", testLocked},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, fresh(t).Open) })
	}
}

// mustOpen opens the store and closes it when the test ends.
func mustOpen(t *testing.T, open func() (store.Engine, error)) store.Engine {
	t.Helper()
	e, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// closeT closes e, failing the test on an error.
func closeT(t *testing.T, e store.Engine) {
	t.Helper()
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// put returns an Apply function that stores value.
func put(value string) func([]byte) ([]byte, error) {
	return func([]byte) ([]byte, error) { return []byte(value), nil }
}

// set stores value under key.
func set(e store.Engine, b store.Bucket, key, value string) error {
	return e.Apply(context.Background(), b, []byte(key), put(value))
}

// mustSet stores value under key, failing the test on an error.
func mustSet(t *testing.T, e store.Engine, b store.Bucket, key, value string) {
	t.Helper()
	if err := set(e, b, key, value); err != nil {
		t.Fatalf("set %s %q: %v", b, key, err)
	}
}

// mustGet returns the value of key, failing the test if it is absent.
func mustGet(t *testing.T, e store.Engine, b store.Bucket, key string) string {
	t.Helper()
	v, err := e.Get(b, []byte(key))
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", b, key, err)
	}
	return string(v)
}

// wantValue fails the test unless key holds want.
func wantValue(t *testing.T, e store.Engine, b store.Bucket, key, want string) {
	t.Helper()
	if got := mustGet(t, e, b, key); got != want {
		t.Errorf("%s %q = %q, want %q", b, key, got, want)
	}
}

// wantAbsent fails the test unless key is absent.
func wantAbsent(t *testing.T, e store.Engine, b store.Bucket, key string) {
	t.Helper()
	if v, err := e.Get(b, []byte(key)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(%s, %q) = %q, %v; want ErrNotFound", b, key, v, err)
	}
}

// wantCount fails the test unless bucket b holds n keys.
func wantCount(t *testing.T, e store.Engine, b store.Bucket, n int) {
	t.Helper()
	if got, err := e.Count(b); got != n || err != nil {
		t.Errorf("Count(%s) = %d, %v; want %d", b, got, err, n)
	}
}

// TestPartitions is the partition count of TestPartition: small, so that the
// suite's few keys share partitions and leave some empty.
const TestPartitions = 8

// TestPartition is a partition function for partitioned runs of the suite
// (store.Options.Partition with TestPartitions): the top bits of the key's
// FNV-1a hash, as the ring takes them, so neighbouring keys scatter.
func TestPartition(key []byte) int {
	h := fnv.New32a()
	h.Write(key)
	return int(h.Sum32() >> 29)
}
