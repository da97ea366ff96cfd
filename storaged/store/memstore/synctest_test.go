package memstore_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoalkv/shoal/storaged/store/memstore"
)

// TestSyncLatencyVirtualTime: a durable write takes exactly SyncLatency of
// virtual time, concurrent writers share syncs, and Close leaves no
// goroutine behind (synctest.Test fails on one).
func TestSyncLatencyVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const latency = 10 * time.Millisecond
		s := openT(t, memstore.NewDisk(), memstore.Options{SyncLatency: latency})
		start := time.Now()
		mustSet(t, s, "lone", "v")
		if elapsed := time.Since(start); elapsed != latency {
			t.Errorf("a lone write took %v, want %v", elapsed, latency)
		}

		start = time.Now()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() { mustSet(t, s, string(rune('a'+i)), "v") })
		}
		wg.Wait()
		// Time stands still until all eight are queued or committing, so
		// the first batch and the one queued behind it carry them all.
		if elapsed := time.Since(start); elapsed < latency || elapsed > 2*latency {
			t.Errorf("8 concurrent writes took %v, want %v to %v", elapsed, latency, 2*latency)
		}
		if st := s.Stats(); st.Writes != 9 || st.Commits > 3 {
			t.Errorf("Stats = %+v, want 9 writes in at most 3 commits", st)
		}
	})
}

// TestNoSyncWriteback: under NoSync a write is answered at once and synced
// SyncLatency later: a crash before then loses it, a crash after keeps it.
func TestNoSyncWriteback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const latency = 10 * time.Millisecond
		d := memstore.NewDisk()
		s := openT(t, d, memstore.Options{NoSync: true, SyncLatency: latency})
		start := time.Now()
		mustSet(t, s, "early", "v")
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("a NoSync write took %v, want 0", elapsed)
		}
		time.Sleep(latency)
		synctest.Wait() // the writeback has marked "early" synced
		mustSet(t, s, "late", "v")
		time.Sleep(latency / 2)
		d.Crash(nil) // keeps nothing unsynced
		s = openT(t, d, memstore.Options{})
		wantValue(t, s, "early", "v")
		wantAbsent(t, s, "late")
	})
}
