package mpcheck_test

import (
	"testing"

	"github.com/shoalkv/shoal/wire/mpcheck"
)

func BenchmarkCheck(b *testing.B) {
	cases := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"message-1KiB", typicalMessage(b), false},
		{"bin-1MiB", marshal(b, make([]byte, 1<<20), false), false},
		{"array32-4G", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, true},
		{"nesting-1MiB", deepArrays(1 << 20), true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.in)))
			b.ReportAllocs()
			for b.Loop() {
				if err := mpcheck.Check(c.in, mpcheck.Limits{}); (err != nil) != c.wantErr {
					b.Fatalf("Check = %v", err)
				}
			}
		})
	}
}
