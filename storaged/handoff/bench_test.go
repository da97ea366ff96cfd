package handoff

import (
	"bytes"
	"slices"
	"testing"
)

// BenchmarkCore moves 10,000 objects of 1 KiB through the pure cores alone
// (Sender, Batcher, Transfer; no store, no network): what they cost against
// the ≥ 20,000 objects/s handoff target.
func BenchmarkCore(b *testing.B) {
	const n = 10000
	src := make([]Object, n)
	val := bytes.Repeat([]byte("v"), 1024)
	for i := range src {
		src[i] = Object{Key: []byte{byte(i >> 8), byte(i), 'k'}, Value: val}
	}
	b.SetBytes(n * 1024)
	b.ReportAllocs()
	for b.Loop() {
		tr, err := New(Config{}, testID(), nil, epoch)
		if err != nil {
			b.Fatal(err)
		}
		rd := tr.Ready()
		s, err := NewSender(Config{}, rd.Open)
		if err != nil {
			b.Fatal(err)
		}
		for !rd.Done {
			for _, a := range rd.Acks {
				if err := s.Ack(&a); err != nil {
					b.Fatal(err)
				}
			}
			switch {
			case rd.Merge != nil:
				tr.Durable(epoch, rd.Merge.Session, rd.Merge.Seq)
			case rd.Exchange:
				tr.Exchanged(epoch, nil)
			default:
				r, ok := s.Next()
				if !ok {
					b.Fatal("stuck")
				}
				i, _ := slices.BinarySearchFunc(src, r.After, func(o Object, k []byte) int { return bytes.Compare(o.Key, k) })
				if i < n && bytes.Equal(src[i].Key, r.After) {
					i++
				}
				bt, last := r.Batcher(), r.After
				for ; i < n && bt.Add(src[i].Key, src[i].Value); i++ {
					last = src[i].Key
				}
				tr.Batch(epoch, s.Seal(bt.Objects(), last, i == n))
			}
			rd = tr.Ready()
		}
		if rd.Err != nil || rd.Stats.Objects != n {
			b.Fatalf("%+v", rd)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
}
