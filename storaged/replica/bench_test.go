package replica

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/shoalkv/shoal/wire/dvv"
)

// The put path's view of a replicate: the coordinator's object (one new
// sibling of a 1 KiB value, a clock of 3 actors) merged over the replica's
// older copy of the key. The benchmarks below price what the relay checks
// add to it, and what a coordinator seal would (issue 9: a MAC or signature
// by the coordinating node, checked by each replica).

func putObjects(b *testing.B) (cur, in dvv.Set) {
	b.Helper()
	value := make([]byte, 1024)
	n1, n2, n3 := dvv.Actor{Node: "n1", Epoch: 7}, dvv.Actor{Node: "n2", Epoch: 8}, dvv.Actor{Node: "n3", Epoch: 9}
	cur, _ = dvv.Set{}.Update(n2, nil, value, false)
	cur, _ = cur.Update(n3, cur.VV, value, false)
	in, _ = cur.Update(n1, cur.VV, value, false)
	return cur, in
}

// BenchmarkMergeUnchecked is what a replicate's merge cost before the relay
// checks: the DVV sync and the changed test.
func BenchmarkMergeUnchecked(b *testing.B) {
	cur, in := putObjects(b)
	b.ReportAllocs()
	for b.Loop() {
		next := dvv.Merge(cur, in)
		_ = next.Equal(cur)
	}
}

// BenchmarkMergeChecked is the same merge with every check of the relay:
// the claim of its own actor, the dot conflict scan, and Check of the result.
func BenchmarkMergeChecked(b *testing.B) {
	cur, in := putObjects(b)
	self := selfOf(dvv.Actor{Node: "n2", Epoch: 8})
	held := Local{Object: cur, Epoch: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Merge(held, in, self, FromClient, lim); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealHMAC prices a symmetric seal: the coordinator MACs the
// encoded object once and each of the two other replicas checks it
// (HMAC-SHA256 with a cluster key). The encoding is counted, since a
// replica would have to re-encode what it decoded.
func BenchmarkSealHMAC(b *testing.B) {
	_, in := putObjects(b)
	key := make([]byte, 32)
	rand.Read(key)
	b.ReportAllocs()
	for b.Loop() {
		enc, err := dvv.EncodeSet(in)
		if err != nil {
			b.Fatal(err)
		}
		m := hmac.New(sha256.New, key)
		m.Write(enc)
		seal := m.Sum(nil)
		for range 2 {
			v := hmac.New(sha256.New, key)
			v.Write(enc)
			if !hmac.Equal(v.Sum(nil), seal) {
				b.Fatal("seal mismatch")
			}
		}
	}
}

// BenchmarkSealEd25519 prices a signature by the coordinator's own key,
// which needs no shared secret: one signature and two verifications per
// put.
func BenchmarkSealEd25519(b *testing.B) {
	_, in := putObjects(b)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		enc, err := dvv.EncodeSet(in)
		if err != nil {
			b.Fatal(err)
		}
		sig := ed25519.Sign(priv, enc)
		for range 2 {
			if !ed25519.Verify(pub, enc, sig) {
				b.Fatal("bad signature")
			}
		}
	}
}
