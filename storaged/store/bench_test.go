package store

import (
	"context"
	"encoding/binary"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// benchWriters is the number of concurrent writers in BenchmarkApplyParallel.
const benchWriters = 64

// BenchmarkApplyParallel measures durable (fsync) writes of unique keys from
// benchWriters goroutines, with group commit (default MaxBatch) and without
// it (MaxBatch 1: one fsync per write). ns/op is wall time per write across
// all writers; writes/commit is the mean batch size.
func BenchmarkApplyParallel(b *testing.B) {
	for _, bc := range []struct {
		name     string
		maxBatch int
	}{
		{"MaxBatch=default", 0},
		{"MaxBatch=1", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := openT(b, b.TempDir(), Options{MaxBatch: bc.maxBatch})
			value := []byte(strings.Repeat("v", 128))
			put := func([]byte) ([]byte, error) { return value, nil }
			var next atomic.Uint64
			// RunParallel starts parallelism*GOMAXPROCS goroutines.
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((benchWriters + procs - 1) / procs)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := make([]byte, 8)
				for pb.Next() {
					binary.BigEndian.PutUint64(key, next.Add(1))
					if err := s.Apply(context.Background(), Objects, key, put); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(st.Writes)/float64(max(st.Commits, 1)), "writes/commit")
		})
	}
}
