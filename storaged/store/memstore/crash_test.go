package memstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/storaged/store/memstore"
)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

// hammer runs writers of unique keys on s until they fail, and returns what
// was acknowledged and the errors that stopped them.
func hammer(s *memstore.Store, writers int) (wait func() (acked []string, errs []error)) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var acked []string
	var errs []error
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("w%02d-%06d", w, i)
				err := set(s, key, key)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					acked = append(acked, key)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	return func() ([]string, []error) {
		wg.Wait()
		return acked, errs
	}
}

// TestCrashKeepsAcknowledgedWrites: with syncs, a crash amid concurrent
// writers loses no acknowledged write, whatever the seed, and every writer
// learns of the crash through ErrClosed. Virtual time makes each run exact.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	for seed := range uint64(8) {
		synctest.Test(t, func(t *testing.T) {
			d := memstore.NewDisk()
			s, err := d.Open(memstore.Options{SyncLatency: time.Millisecond, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			wait := hammer(s, 8)
			time.Sleep(20*time.Millisecond + time.Duration(seed)*100*time.Microsecond)
			d.Crash(seeded(seed))
			acked, errs := wait()
			for _, err := range errs {
				if !errors.Is(err, store.ErrClosed) {
					t.Errorf("writer stopped by %v, want ErrClosed", err)
				}
			}
			if len(acked) == 0 || len(errs) != 8 {
				t.Fatalf("%d writes acknowledged, %d writers stopped; want some and 8", len(acked), len(errs))
			}
			s = openT(t, d, memstore.Options{})
			for _, k := range acked {
				wantValue(t, s, k, k)
			}
			n, _ := s.Count(store.Objects)
			if n < len(acked) || n > len(acked)+8 { // at most the batch in its sync survives besides
				t.Errorf("%d keys after the crash, %d acknowledged", n, len(acked))
			}
		})
	}
}

// TestCrashKeepsAcknowledgedWritesRealTime is the same on the real
// scheduler, for the race detector.
func TestCrashKeepsAcknowledgedWritesRealTime(t *testing.T) {
	d := memstore.NewDisk()
	s, err := d.Open(memstore.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	wait := hammer(s, 8)
	for {
		if n, _ := s.Count(store.Objects); n >= 500 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	d.Crash(seeded(1))
	acked, _ := wait()
	s = openT(t, d, memstore.Options{})
	for _, k := range acked {
		wantValue(t, s, k, k)
	}
}

// afterNoSyncCrash writes "base" durably, then ten single-write batches
// (under NoSync with a sync that never completes, or with instant syncs),
// crashes with rng, and returns the keys that survived.
func afterNoSyncCrash(t *testing.T, noSync bool, rng *rand.Rand) []string {
	t.Helper()
	d := memstore.NewDisk()
	s := openT(t, d, memstore.Options{})
	mustSet(t, s, "base", "v")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	opts := memstore.Options{Logger: quiet}
	if noSync {
		opts.NoSync, opts.SyncLatency = true, time.Hour
	}
	s, err := d.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		mustSet(t, s, fmt.Sprint("k", i), "v")
	}
	if got := len(keys(t, s)); got != 11 {
		t.Fatalf("%d keys visible before the crash, want 11", got)
	}
	d.Crash(rng)
	s = openT(t, d, memstore.Options{})
	return keys(t, s)
}

// TestNoSyncCrashLosesSuffix: under NoSync a crash keeps a prefix of the
// acknowledged, unsynced batches, as long as the seed says, and the synced
// state; the same seed keeps the same prefix.
func TestNoSyncCrashLosesSuffix(t *testing.T) {
	lengths := map[int]bool{}
	for seed := range uint64(20) {
		got := afterNoSyncCrash(t, true, seeded(seed))
		if len(got) == 0 || got[0] != "base" {
			t.Fatalf("seed %d: %q survived, want base first", seed, got)
		}
		for i, k := range got[1:] {
			if k != fmt.Sprint("k", i) {
				t.Fatalf("seed %d: %q survived, not a prefix of k0..k9", seed, got)
			}
		}
		if again := afterNoSyncCrash(t, true, seeded(seed)); !slices.Equal(again, got) {
			t.Fatalf("seed %d: %q survived, then %q", seed, got, again)
		}
		lengths[len(got)-1] = true
	}
	if lengths[10] && len(lengths) == 1 {
		t.Fatal("no seed lost an unsynced write")
	}
	if len(lengths) < 3 {
		t.Errorf("20 seeds kept only %d distinct prefix lengths: %v", len(lengths), lengths)
	}
	if got := afterNoSyncCrash(t, true, nil); !slices.Equal(got, []string{"base"}) {
		t.Errorf("a crash with a nil rng kept %q, want only the synced base", got)
	}
}

// TestSyncedCrashLosesNothing is the negative control: with syncs the same
// writes all survive every seed.
func TestSyncedCrashLosesNothing(t *testing.T) {
	for seed := range uint64(20) {
		if got := afterNoSyncCrash(t, false, seeded(seed)); len(got) != 11 {
			t.Fatalf("seed %d: %q survived, want base and k0..k9", seed, got)
		}
	}
}

// TestCrashUnblocksWriters: writers waiting for a sync, or queued behind it,
// return ErrClosed as soon as the store crashes, and so does every later
// call; the batch in its sync was visible, and a nil rng drops it.
func TestCrashUnblocksWriters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := memstore.NewDisk()
		s, err := d.Open(memstore.Options{SyncLatency: time.Hour, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		epoch := s.Epoch()
		start := time.Now()
		first, second := make(chan error, 1), make(chan error, 1)
		go func() { first <- set(s, "syncing", "v") }()
		synctest.Wait() // the first batch is in its hour-long sync
		go func() { second <- set(s, "queued", "v") }()
		synctest.Wait()
		if len(first)+len(second) != 0 {
			t.Fatal("a write returned before its sync")
		}
		wantValue(t, s, "syncing", "v") // visible while its sync runs
		wantAbsent(t, s, "queued")

		d.Crash(nil)
		for name, c := range map[string]chan error{"syncing": first, "queued": second} {
			if err := <-c; !errors.Is(err, store.ErrClosed) {
				t.Errorf("%s write after the crash: %v, want ErrClosed", name, err)
			}
		}
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("the crash took %v of virtual time to unblock writers", elapsed)
		}
		checkAllClosed(t, s)
		if err := s.Close(); err != nil {
			t.Errorf("Close after a crash: %v", err)
		}

		s = openT(t, d, memstore.Options{})
		if s.Epoch() != epoch || s.Fresh() {
			t.Errorf("after the crash: Epoch %d (was %d), Fresh %v", s.Epoch(), epoch, s.Fresh())
		}
		wantAbsent(t, s, "syncing")
		wantAbsent(t, s, "queued")
	})
}

// checkAllClosed fails the test unless every call on s fails with ErrClosed.
func checkAllClosed(t *testing.T, s *memstore.Store) {
	t.Helper()
	ctx := t.Context()
	if err := set(s, "k", "v"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Apply: %v", err)
	}
	if err := s.Delete(ctx, store.Objects, []byte("k")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Delete: %v", err)
	}
	if ok, err := s.CompareAndDelete(ctx, store.Objects, []byte("k"), nil); ok || !errors.Is(err, store.ErrClosed) {
		t.Errorf("CompareAndDelete: %v, %v", ok, err)
	}
	if _, err := s.Get(store.Objects, []byte("k")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get: %v", err)
	}
	if err := s.View(func(store.View) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View: %v", err)
	}
	if err := s.ForEach(store.Objects, func(k, v []byte) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ForEach: %v", err)
	}
	if _, err := s.Count(store.Objects); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Count: %v", err)
	}
}

// TestCrashDecidesBatchInSync: a batch caught in its sync survives a crash
// for some seeds and not for others.
func TestCrashDecidesBatchInSync(t *testing.T) {
	outcomes := map[bool]int{}
	for seed := range uint64(20) {
		synctest.Test(t, func(t *testing.T) {
			d := memstore.NewDisk()
			s, err := d.Open(memstore.Options{SyncLatency: time.Hour, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- set(s, "k", "v") }()
			synctest.Wait()
			d.Crash(seeded(seed))
			if err := <-errc; !errors.Is(err, store.ErrClosed) {
				t.Errorf("write in its sync: %v, want ErrClosed", err)
			}
			s = openT(t, d, memstore.Options{})
			_, err = s.Get(store.Objects, []byte("k"))
			outcomes[err == nil]++
		})
	}
	if outcomes[true] == 0 || outcomes[false] == 0 {
		t.Errorf("over 20 seeds the batch in its sync survived %d times, was lost %d times; want both", outcomes[true], outcomes[false])
	}
}

// TestCloseSyncsNoSyncWrites: Close makes unsynced writes durable: a crash
// of the next Store, before it writes anything, keeps them.
func TestCloseSyncsNoSyncWrites(t *testing.T) {
	d := memstore.NewDisk()
	opts := memstore.Options{NoSync: true, SyncLatency: time.Hour, Logger: quiet}
	s, err := d.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	d.Crash(nil) // nothing open: nothing to lose
	if _, err = d.Open(opts); err != nil {
		t.Fatal(err)
	}
	d.Crash(nil) // keeps nothing unsynced
	s = openT(t, d, memstore.Options{})
	wantValue(t, s, "k", "v")
}
