package ring_test

import (
	"fmt"
	"testing"

	"github.com/ringkv/ringkv/ring"
)

// BenchmarkLookup is the per-request cost of placement: hash the key, find
// its partition, fetch the preference list.
func BenchmarkLookup(b *testing.B) {
	r, err := ring.New(ring.Config{}, ids("n", 10))
	if err != nil {
		b.Fatal(err)
	}
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "user:%08d", i)
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		n += len(r.Preference(r.PartitionOf(ring.KeyHash(keys[i%len(keys)]))))
	}
	if n == 0 {
		b.Fatal("no replicas")
	}
}

// BenchmarkNew is the cost of a membership change: building the ring.
func BenchmarkNew(b *testing.B) {
	for _, q := range []int{256, 4096} {
		for _, m := range []int{10, 50} {
			b.Run(fmt.Sprintf("Q=%d/members=%d", q, m), func(b *testing.B) {
				members := ids("n", m)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := ring.New(ring.Config{Partitions: q}, members); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
