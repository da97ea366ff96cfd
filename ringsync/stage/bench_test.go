package stage

import (
	"testing"

	"github.com/shoalkv/shoal/ringsync/member"
)

// BenchmarkMake plans a join into 64 nodes over the default 4096 partitions.
func BenchmarkMake(b *testing.B) {
	s := stage(b, cluster(b, 4096, 64), join(64))
	for b.Loop() {
		if _, err := Make(s, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdvancePartial is the claimant's step of a 5-node join over 4096
// partitions with every other transfer done: the partition-by-partition path.
func BenchmarkAdvancePartial(b *testing.B) {
	s := commit(b, stage(b, cluster(b, 4096, 5), join(5)), Options{})
	s = seeAll(b, receive(b, s, func(t member.Transfer) bool { return t.Partition%2 == 0 }))
	for b.Loop() {
		if _, _, err := Advance(s, "n00", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
