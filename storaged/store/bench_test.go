package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
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

// BenchmarkOpenCheck measures what Open's verification costs on a store of
// 100,000 objects of 100 to 400 bytes (about 30 MB): the whole Open and
// Close, and its two checks alone (preflight, bbolt's tx.Check).
func BenchmarkOpenCheck(b *testing.B) {
	dir := b.TempDir()
	s := openT(b, dir, Options{NoSync: true})
	var wg sync.WaitGroup
	const n, writers = 100_000, 16
	for w := range writers {
		wg.Go(func() {
			key := make([]byte, 8)
			for i := w; i < n; i += writers {
				binary.BigEndian.PutUint64(key, uint64(i)*0x9e3779b97f4a7c15) // spread like hashed keys
				v := []byte(strings.Repeat("v", 100+i%300))
				if err := s.Apply(context.Background(), Objects, key, func([]byte) ([]byte, error) { return v, nil }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, dbName)
	if fi, err := os.Stat(path); err == nil {
		b.Logf("file of %d objects: %d bytes", n, fi.Size())
	}
	b.Run("Open+Close", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(dir, Options{NoSync: true, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			if s.Quarantined() != "" {
				b.Fatal("quarantined an undamaged file")
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("preflight", func(b *testing.B) {
		for b.Loop() {
			if err := preflightPath(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tx.Check", func(b *testing.B) {
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		for b.Loop() {
			if err := db.View(checkTx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// fillFormat2 writes n objects of 100 to 400 bytes (hashed-looking 8-byte
// keys) into a format-2 file in dir.
func fillFormat2(b *testing.B, dir string, n int) {
	b.Helper()
	db, err := bolt.Open(filepath.Join(dir, dbName), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, bk := range buckets {
			if _, err := tx.CreateBucket(bk.nameIn(2)); err != nil {
				return err
			}
		}
		meta := tx.Bucket(Meta.nameIn(2))
		if err := putRecord(meta, Meta, epochKey, epochKey, binary.BigEndian.AppendUint64(nil, 7)); err != nil {
			return err
		}
		objs := tx.Bucket(Objects.nameIn(2))
		objs.FillPercent = 1
		key := make([]byte, 8)
		for i := range n {
			binary.BigEndian.PutUint64(key, uint64(i)*0x9e3779b97f4a7c15)
			if err := putRecord(objs, Objects, bytes.Clone(key), key, []byte(strings.Repeat("v", 100+i%300))); err != nil {
				return err
			}
		}
		return nil
	})
	if err := errors.Join(err, db.Close()); err != nil {
		b.Fatal(err)
	}
}

// benchPartitions is a ring's default partition count, for the layout
// benchmarks: the top 12 bits of a key's first two bytes stand in for the
// ring's hash (the benchmark keys are hashed-looking already).
const benchPartitions = 4096

func benchPartition(key []byte) int { return int(binary.BigEndian.Uint16(key)) >> 4 }

// BenchmarkMigrate measures Open of a 100,000-object format-2 file: the
// migration to format 3 (objects under their partition's prefix, in
// batches of migrateBatch, each an fsync) and the checks, then Close.
func BenchmarkMigrate(b *testing.B) {
	const n = 100_000
	opts := Options{Logger: quiet, Partition: benchPartition, Partitions: benchPartitions}
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		fillFormat2(b, dir, n)
		b.StartTimer()
		s, err := Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if c, err := s.Count(Objects); err != nil || c != n {
			b.Fatalf("Count after migration = %d, %v; want %d", c, err, n)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkScanPartition measures one partition's scan (about 24 of
// 100,000 objects in 4096 partitions) and a whole-bucket ForEach for
// comparison; ns/op is per scan.
func BenchmarkScanPartition(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	fillFormat2(b, dir, n)
	s := openT(b, dir, Options{NoSync: true, Partition: benchPartition, Partitions: benchPartitions})
	b.Run("partition", func(b *testing.B) {
		keys, q := 0, 0
		for b.Loop() {
			if err := s.ScanPartition(q, nil, func(k, v []byte) bool { keys++; return true }); err != nil {
				b.Fatal(err)
			}
			q = (q + 1) % benchPartitions
		}
		b.ReportMetric(float64(keys)/float64(b.N), "keys/op")
	})
	b.Run("ForEach", func(b *testing.B) {
		for b.Loop() {
			if err := s.ForEach(Objects, func(k, v []byte) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
