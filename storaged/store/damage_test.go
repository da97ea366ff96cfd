package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// written is what a test wrote: bucket, key, value.
type written map[Bucket]map[string]string

// buildStore writes n objects (random sizes), n/4 hints and a few meta keys
// into a new store in dir, closes it, and returns what it wrote and the
// epoch.
func buildStore(t testing.TB, dir string, n int, seed uint64) (written, uint64) {
	t.Helper()
	s, err := Open(dir, Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	w := written{Objects: {}, Hints: {}, Meta: {}}
	ctx := context.Background()
	put := func(b Bucket, k, v string) {
		if err := s.Apply(ctx, b, []byte(k), func([]byte) ([]byte, error) { return []byte(v), nil }); err != nil {
			t.Fatal(err)
		}
		w[b][k] = v
	}
	for i := range n {
		put(Objects, fmt.Sprintf("object-%06d", i), strings.Repeat(string(rune('a'+i%26)), 1+rng.IntN(300)))
		if i%4 == 0 {
			put(Hints, fmt.Sprintf("hint-%06d", i), strings.Repeat("h", 1+rng.IntN(100)))
		}
	}
	put(Meta, "m", "meta value")
	epoch := s.Epoch()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return w, epoch
}

// damage is one way to damage a database file's bytes.
type damage struct {
	name string
	fn   func(b []byte, pageSize int, rng *rand.Rand) []byte
}

// flipAt flips 64 random bytes (XOR with a random nonzero byte) starting at
// fraction at of the file, or at a random place if at is negative.
func flipAt(at float64) func([]byte, int, *rand.Rand) []byte {
	return func(b []byte, _ int, rng *rand.Rand) []byte {
		off := int(at * float64(len(b)-64))
		if at < 0 {
			off = rng.IntN(len(b) - 64)
		}
		for i := range 64 {
			b[off+i] ^= byte(1 + rng.IntN(255))
		}
		return b
	}
}

var damages = []damage{
	{"flip64-quarter", flipAt(0.25)},
	{"flip64-middle", flipAt(0.5)},
	{"flip64-three-quarters", flipAt(0.75)},
	{"flip64-random", flipAt(-1)},
	{"flip64-scattered", func(b []byte, _ int, rng *rand.Rand) []byte {
		for range 64 {
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		}
		return b
	}},
	{"truncate-half", func(b []byte, _ int, _ *rand.Rand) []byte { return b[:len(b)/2] }},
	{"truncate-random", func(b []byte, _ int, rng *rand.Rand) []byte { return b[:rng.IntN(len(b))] }},
	{"truncate-zero", func(b []byte, _ int, _ *rand.Rand) []byte { return b[:0] }},
	{"zero-page", func(b []byte, ps int, rng *rand.Rand) []byte {
		p := rng.IntN(len(b) / ps)
		clear(b[p*ps : (p+1)*ps])
		return b
	}},
	{"zero-meta-pages", func(b []byte, ps int, _ *rand.Rand) []byte { clear(b[:2*ps]); return b }},
}

// TestDamagedFile: whatever the damage to a stopped store's file, Open
// neither panics nor fails: it either serves only records that were written,
// with the values written, or moves the file aside and starts empty under a
// new epoch. Every kind of damage, 50 seeds each.
func TestDamagedFile(t *testing.T) {
	base := t.TempDir()
	w, epoch := buildStore(t, base, 2000, 1)
	orig, err := os.ReadFile(filepath.Join(base, dbName))
	if err != nil {
		t.Fatal(err)
	}
	seeds := 50
	if testing.Short() {
		seeds = 5
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			quarantined, corrupt := 0, uint64(0)
			for seed := range uint64(seeds) {
				q, c := openDamaged(t, orig, w, epoch, d, seed)
				if q {
					quarantined++
				}
				corrupt += c
			}
			t.Logf("%s: %d of %d files quarantined; the others served what verified, skipping %d corrupt records in all",
				d.name, quarantined, seeds, corrupt)
		})
	}
}

// openDamaged damages a copy of orig, opens it and checks the outcome. It
// reports whether the file was quarantined, and how many corrupt records a
// scan of every bucket met.
func openDamaged(t *testing.T, orig []byte, w written, epoch uint64, d damage, seed uint64) (bool, uint64) {
	t.Helper()
	dir := t.TempDir()
	bad := d.fn(bytes.Clone(orig), os.Getpagesize(), rand.New(rand.NewPCG(seed, 2)))
	path := filepath.Join(dir, dbName)
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatalf("seed %d: Open of a damaged file failed: %v", seed, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("seed %d: Close: %v", seed, err)
		}
	}()
	if q := s.Quarantined(); q != "" {
		kept, err := os.ReadFile(q)
		if err != nil || !bytes.Equal(kept, bad) {
			t.Errorf("seed %d: quarantined file %s: %v, same bytes %v", seed, q, err, bytes.Equal(kept, bad))
		}
		if !s.Fresh() || s.Epoch() == epoch {
			t.Errorf("seed %d: quarantined, but Fresh %v, epoch %x (was %x)", seed, s.Fresh(), s.Epoch(), epoch)
		}
		if n, err := s.Count(Objects); n != 0 || err != nil {
			t.Errorf("seed %d: quarantined, but the new store holds %d objects (%v)", seed, n, err)
		}
		return true, 0
	}
	for _, b := range buckets {
		err := s.ForEach(b, func(k, v []byte) error {
			want, ok := w[b][string(k)]
			switch {
			case b == Meta && (bytes.Equal(k, epochKey) || bytes.Equal(k, formatKey) || bytes.Equal(k, partitionsKey)):
			case !ok:
				t.Errorf("seed %d: %s serves key %q that was never written", seed, b, k)
			case string(v) != want:
				t.Errorf("seed %d: %s %q = %.20q..., never written", seed, b, k, v)
			}
			return nil
		})
		if err != nil {
			t.Errorf("seed %d: ForEach(%s): %v", seed, b, err)
		}
	}
	if s.Epoch() != epoch && !s.Fresh() {
		t.Errorf("seed %d: epoch changed from %x to %x without Fresh", seed, epoch, s.Epoch())
	}
	// The store works: a write, then a read of it.
	if err := s.Apply(context.Background(), Objects, []byte("after"), func([]byte) ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Errorf("seed %d: write after opening a damaged file: %v", seed, err)
	}
	return false, s.Stats().CorruptRecords
}

// TestPreflightCycle: a branch page whose child is itself (a cycle bbolt
// would recurse into until the stack overflows, killing the process) is
// caught by preflight and the file is quarantined; the undamaged file, the
// negative control, passes preflight.
func TestPreflightCycle(t *testing.T) {
	dir := t.TempDir()
	buildStore(t, dir, 3000, 2)
	path := filepath.Join(dir, dbName)
	if err := preflightPath(path); err != nil {
		t.Fatalf("preflight of an undamaged file: %v", err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var root uint64
	if err := db.View(func(tx *bolt.Tx) error { root = uint64(tx.Bucket(Objects.name()).RootPage()); return nil }); err != nil {
		t.Fatal(err)
	}
	ps := int64(db.Info().PageSize)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, pageHeader+elementSize)
	if _, err := f.ReadAt(head, int64(root)*ps); err != nil {
		t.Fatal(err)
	}
	if flag := order.Uint16(head[8:]); flag != branchFlag {
		t.Fatalf("root page %d of objects has flags %#x, want a branch page: write more keys", root, flag)
	}
	order.PutUint64(head[pageHeader+8:], root) // first child: the page itself
	if _, err := f.WriteAt(head, int64(root)*ps); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	err = preflightPath(path)
	var d *damageError
	if !errors.As(err, &d) || !strings.Contains(err.Error(), "referenced twice") {
		t.Fatalf("preflight of a file with a cycle: %v, want a damage error naming the page referenced twice", err)
	}
	s := openT(t, dir, Options{NoSync: true})
	if s.Quarantined() == "" || !s.Fresh() {
		t.Errorf("Open of a file with a cycle: quarantined %q, fresh %v", s.Quarantined(), s.Fresh())
	}
}

// TestQuarantineLogs: a quarantine is logged as an error naming the file,
// where it went and why, and the directory keeps the damaged file.
func TestQuarantineLogs(t *testing.T) {
	dir := t.TempDir()
	buildStore(t, dir, 100, 3)
	path := filepath.Join(dir, dbName)
	if err := os.Truncate(path, 3*int64(os.Getpagesize())); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := openT(t, dir, Options{NoSync: true, Logger: newTextLogger(&logs)})
	q := s.Quarantined()
	if !strings.HasPrefix(q, path+quarantineSuffix) {
		t.Fatalf("Quarantined = %q, want %s%s<time>", q, path, quarantineSuffix)
	}
	if _, err := os.Stat(q); err != nil {
		t.Errorf("quarantined file: %v", err)
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR", "damaged", "moved_to=" + q, "high-water mark"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	// Reopened, the new file is kept: no second quarantine.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, Options{NoSync: true})
	if s.Quarantined() != "" || s.Fresh() {
		t.Errorf("reopened after a quarantine: quarantined %q, fresh %v", s.Quarantined(), s.Fresh())
	}
}

// TestLayoutDamage: a file whose objects bucket lost its name (damaged into
// another) is quarantined rather than served as empty under the old epoch.
func TestLayoutDamage(t *testing.T) {
	dir := t.TempDir()
	_, epoch := buildStore(t, dir, 10, 4)
	db, err := bolt.Open(filepath.Join(dir, dbName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		nb, err := tx.CreateBucket([]byte("objectz.2"))
		if err != nil {
			return err
		}
		if err := tx.Bucket(Objects.name()).ForEach(func(k, v []byte) error { return nb.Put(k, v) }); err != nil {
			return err
		}
		return tx.DeleteBucket(Objects.name())
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := openT(t, dir, Options{NoSync: true})
	if s.Quarantined() == "" || s.Epoch() == epoch {
		t.Errorf("a file with a renamed objects bucket: quarantined %q, epoch %x (was %x)", s.Quarantined(), s.Epoch(), epoch)
	}
}

// TestRecordOnDisk is the negative control of the checksum at the bbolt
// level: a value written straight into the file with a wrong checksum is
// refused, the same bytes with the right one are served.
func TestRecordOnDisk(t *testing.T) {
	dir := t.TempDir()
	buildStore(t, dir, 1, 5)
	good := AppendRecord(nil, Objects, []byte("k"), []byte("value"))
	bad := bytes.Clone(good)
	binary.BigEndian.PutUint32(bad[1:], binary.BigEndian.Uint32(good[1:])^1)
	for _, tc := range []struct {
		rec  []byte
		want error
	}{{good, nil}, {bad, ErrCorrupt}} {
		if err := SetRawRecord(dir, Partitioning{}, Objects, []byte("k"), tc.rec); err != nil {
			t.Fatal(err)
		}
		s := openT(t, dir, Options{NoSync: true})
		v, err := s.Get(Objects, []byte("k"))
		if !errors.Is(err, tc.want) || (tc.want == nil && string(v) != "value") || (tc.want != nil && v != nil) {
			t.Errorf("record %x: Get = %q, %v; want %v", tc.rec, v, err, tc.want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
