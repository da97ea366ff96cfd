package ring

import (
	"fmt"
	"hash/fnv"
	"math"
	"testing"
)

// The key-to-partition mapping is a cross-process, cross-version contract:
// these values were computed once (and checked against an independent
// implementation) and must never change.
var hashGolden = []struct {
	key   string
	hash  uint64
	p1024 int
	p4096 int
}{
	{"", 0xf52a15e9a9b5e89b, 980, 3922},
	{"a", 0x02c0bdbf481420f8, 11, 44},
	{"b", 0x3e35b21bfb9b6405, 248, 995},
	{"hello", 0x16fe05a1c75bcd0f, 91, 367},
	{"user:1", 0x3290bc1a92ad86c2, 202, 809},
	{"user:42", 0xd68cb863fc5e0c34, 858, 3432},
	{"shoal", 0xc8502eec72c257f4, 801, 3205},
	{"\x00", 0x25fc6dd36ce04b20, 151, 607},
	{"\xff\xfe", 0x2c77fa73442b1e0b, 177, 711},
	{"the quick brown fox jumps over the lazy dog", 0xb56bad441bea0a79, 725, 2902},
}

func TestPartitionOfGolden(t *testing.T) {
	r1024 := mustNew(t, 1024, seqNodes(3))
	r4096 := mustNew(t, 4096, seqNodes(3))
	for _, g := range hashGolden {
		if h := keyHash([]byte(g.key)); h != g.hash {
			t.Errorf("keyHash(%q) = %#016x, want %#016x", g.key, h, g.hash)
		}
		if p := r1024.PartitionOf([]byte(g.key)); p != g.p1024 {
			t.Errorf("PartitionOf(%q), Q=1024 = %d, want %d", g.key, p, g.p1024)
		}
		if p := r4096.PartitionOf([]byte(g.key)); p != g.p4096 {
			t.Errorf("PartitionOf(%q), Q=4096 = %d, want %d", g.key, p, g.p4096)
		}
	}
}

// The first stage is standard 64-bit FNV-1a.
func TestKeyHashIsFNV1aThenMix(t *testing.T) {
	for _, g := range hashGolden {
		f := fnv.New64a()
		f.Write([]byte(g.key))
		if got, want := keyHash([]byte(g.key)), mix64(f.Sum64()); got != want {
			t.Errorf("keyHash(%q) = %#x, FNV-1a then mix = %#x", g.key, got, want)
		}
	}
}

// Partition p of Q is split into 2p and 2p+1 of 2Q; the members do not
// matter.
func TestPartitionOfPrefix(t *testing.T) {
	small := mustNew(t, 1024, seqNodes(1))
	big := mustNew(t, 2048, seqNodes(7))
	for i := range 10000 {
		key := fmt.Appendf(nil, "k%d", i)
		if s, b := small.PartitionOf(key), big.PartitionOf(key); b/2 != s {
			t.Fatalf("%q: partition %d of 1024 but %d of 2048", key, s, b)
		}
	}
}

// 100k sequential keys spread over the partitions like a uniform draw: the
// chi-square statistic stays within six standard deviations of its mean
// and at Q=1024 (about 98 keys each) every partition holds within
// 50% of the mean.
func TestPartitionOfDistribution(t *testing.T) {
	const keys = 100000
	for _, q := range []int{1024, 4096} {
		r := mustNew(t, q, seqNodes(1))
		counts := make([]int, q)
		for i := range keys {
			counts[r.PartitionOf(fmt.Appendf(nil, "user:%d", i))]++
		}
		mean := float64(keys) / float64(q)
		chi := 0.0
		for p, c := range counts {
			d := float64(c) - mean
			chi += d * d / mean
			if q == 1024 && math.Abs(d) > 0.5*mean {
				t.Errorf("Q=%d: partition %d holds %d keys, mean %.1f", q, p, c, mean)
			}
			if c == 0 {
				t.Errorf("Q=%d: partition %d is empty", q, p)
			}
		}
		dof := float64(q - 1)
		if limit := dof + 6*math.Sqrt(2*dof); chi > limit {
			t.Errorf("Q=%d: chi-square %.0f over %.0f", q, chi, limit)
		}
	}
}

func BenchmarkPartitionOf(b *testing.B) {
	r := mustNew(b, DefaultPartitions, seqNodes(3))
	for _, size := range []int{16, 64, 1024} {
		key := make([]byte, size)
		for i := range key {
			key[i] = byte(i)
		}
		b.Run(fmt.Sprintf("key=%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			sink := 0
			for b.Loop() {
				sink += r.PartitionOf(key)
			}
			_ = sink
		})
	}
}
