package systest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
)

// ctxT is testcluster.Context.
func ctxT(t *testing.T, d time.Duration) context.Context { return testcluster.Context(t, d) }

// TestRoundTripsArbitraryBytes writes, reads and deletes keys and values
// holding every byte value, including empty values and maximum-size keys.
func TestRoundTripsArbitraryBytes(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	cl := c.Client(nil)
	ctx := ctxT(t, 60*time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	type kv struct{ k, v []byte }
	var kvs []kv
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	kvs = append(kvs, kv{allBytes, allBytes}, kv{[]byte{0}, nil}, kv{bytes.Repeat([]byte{0xff}, 1024), []byte("max key")})
	for range 50 {
		k := make([]byte, 1+rng.IntN(64))
		v := make([]byte, rng.IntN(4096))
		for i := range k {
			k[i] = byte(rng.Uint32())
		}
		for i := range v {
			v[i] = byte(rng.Uint32())
		}
		kvs = append(kvs, kv{k, v})
	}
	for _, e := range kvs {
		if _, err := cl.Put(ctx, e.k, e.v, nil); err != nil {
			t.Fatalf("put %x: %v", e.k, err)
		}
	}
	for _, e := range kvs {
		got, err := cl.Get(ctx, e.k)
		if err != nil {
			t.Fatalf("get %x: %v", e.k, err)
		}
		if len(got.Values) != 1 || !bytes.Equal(got.Values[0], e.v) {
			t.Fatalf("get %x: got %d values, want the %d-byte value written", e.k, len(got.Values), len(e.v))
		}
		// Read from every replica: the write reached all three.
		if _, err := cl.Get(ctx, e.k, driver.WithR(3)); err != nil {
			t.Fatalf("get R=3 %x: %v", e.k, err)
		}
	}
	for _, e := range kvs[:10] {
		cur, err := cl.Get(ctx, e.k)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Delete(ctx, e.k, cur.Context); err != nil {
			t.Fatalf("delete %x: %v", e.k, err)
		}
		if _, err := cl.Get(ctx, e.k, driver.WithR(3)); !errors.Is(err, driver.ErrNotFound) {
			t.Fatalf("get after delete %x: err %v, want ErrNotFound", e.k, err)
		}
	}
	if _, err := cl.Get(ctx, []byte("never written")); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("get of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := cl.Put(ctx, bytes.Repeat([]byte("k"), 1025), []byte("v"), nil); err == nil {
		t.Fatal("put with a 1025-byte key succeeded")
	}
}

// addElement is the set-union merge the Update tests use: siblings hold
// newline-separated sorted elements; the result is their union plus e.
func addElement(e string) func([][]byte) ([]byte, error) {
	return func(sibs [][]byte) ([]byte, error) {
		set := union(sibs)
		set[e] = true
		return encodeSet(set), nil
	}
}

func union(sibs [][]byte) map[string]bool {
	set := make(map[string]bool)
	for _, s := range sibs {
		for _, e := range strings.Split(string(s), "\n") {
			if e != "" {
				set[e] = true
			}
		}
	}
	return set
}

func encodeSet(set map[string]bool) []byte {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return []byte(strings.Join(keys, "\n"))
}

// TestConcurrentUpdatesKeepEveryAdd: 8 goroutines × 200 Update calls each
// adding a unique element to one key; a final read holds all 1,600.
func TestConcurrentUpdatesKeepEveryAdd(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	cl := c.Client(nil)
	ctx := ctxT(t, 5*time.Minute)
	key := []byte("set:concurrent")
	const writers, adds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range adds {
				if err := cl.Update(ctx, key, addElement(fmt.Sprintf("w%d-%03d", w, i))); err != nil {
					errs <- fmt.Errorf("writer %d add %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := cl.Get(ctx, key, driver.WithR(3))
	if err != nil {
		t.Fatal(err)
	}
	set := union(got.Values)
	var missing []string
	for w := range writers {
		for i := range adds {
			if e := fmt.Sprintf("w%d-%03d", w, i); !set[e] {
				missing = append(missing, e)
			}
		}
	}
	t.Logf("final read: %d elements in %d siblings", len(set), len(got.Values))
	if len(missing) > 0 || len(set) != writers*adds {
		t.Fatalf("final set has %d elements, want %d; missing %d: %v", len(set), writers*adds, len(missing), missing[:min(10, len(missing))])
	}
}

// TestStaleContextLeavesSiblings: two writers with the same stale context
// leave two siblings, never a silent overwrite; a write with the merged
// context resolves them.
func TestStaleContextLeavesSiblings(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	cl := c.Client(nil)
	ctx := ctxT(t, 60*time.Second)
	key := []byte("cart:siblings")
	if _, err := cl.Put(ctx, key, []byte("v0"), nil); err != nil {
		t.Fatal(err)
	}
	base, err := cl.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Put(ctx, key, []byte("from-a"), base.Context); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Put(ctx, key, []byte("from-b"), base.Context); err != nil {
		t.Fatal(err)
	}
	got, err := cl.Get(ctx, key, driver.WithR(3))
	if err != nil {
		t.Fatal(err)
	}
	vals := sortedStrings(got.Values)
	if !slices.Equal(vals, []string{"from-a", "from-b"}) {
		t.Fatalf("after two writes with one stale context: %q, want both as siblings", vals)
	}
	if _, err := cl.Put(ctx, key, []byte("resolved"), got.Context); err != nil {
		t.Fatal(err)
	}
	got, err = cl.Get(ctx, key, driver.WithR(3))
	if err != nil {
		t.Fatal(err)
	}
	if vals := sortedStrings(got.Values); !slices.Equal(vals, []string{"resolved"}) {
		t.Fatalf("after resolving: %q", vals)
	}
}

// TestSequentialWritesWithFreshContextsNoSiblings: read-then-write in a
// loop, or chaining Put's returned context, never leaves siblings.
func TestSequentialWritesWithFreshContextsNoSiblings(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	cl := c.Client(nil)
	ctx := ctxT(t, 60*time.Second)
	key := []byte("seq")
	var chained driver.Context
	for i := range 100 {
		var err error
		if i%2 == 0 {
			cur, gerr := cl.Get(ctx, key)
			if gerr != nil && !errors.Is(gerr, driver.ErrNotFound) {
				t.Fatal(gerr)
			}
			chained, err = cl.Put(ctx, key, []byte(fmt.Sprint(i)), cur.Context)
		} else {
			chained, err = cl.Put(ctx, key, []byte(fmt.Sprint(i)), chained)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := cl.Get(ctx, key, driver.WithR(3))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Values) != 1 || string(got.Values[0]) != fmt.Sprint(i) {
			t.Fatalf("write %d: read %q, want exactly [%d]", i, got.Values, i)
		}
	}
}

func sortedStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

func withR(r int) driver.Option { return driver.WithR(r) }

// A client closed right after a put still leaves the value on all N
// replicas: Close waits for the replication the put did not wait for. (A
// command-line put is exactly this: one put, then exit.)
func TestCloseRightAfterPutLeavesNCopies(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := ctxT(t, 60*time.Second)
	const puts = 20
	for i := range puts {
		cl := c.Client(nil)
		if _, err := cl.Put(ctx, fmt.Appendf(nil, "close-%d", i), []byte("v"), nil); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		if err := cl.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
	}
	for _, st := range c.Client(nil).Status(ctx) {
		if st.Err != nil {
			t.Fatalf("status of %s: %v", st.Node.ID, st.Err)
		}
		if st.Info.Objects != puts {
			t.Errorf("%s holds %d objects, want %d: a replica missed writes the client was closed on", st.Node.ID, st.Info.Objects, puts)
		}
	}
}
