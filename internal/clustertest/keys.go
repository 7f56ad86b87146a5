package clustertest

import (
	"fmt"

	"github.com/ringkv/ringkv/ring"
)

// KeysOfPartition returns n keys that hash into partition p of a ring of
// partitions partitions (a power of two), for tests that move or inspect
// one partition.
func KeysOfPartition(partitions, p, n int) [][]byte {
	shift := 64
	for q := partitions; q > 1; q >>= 1 {
		shift--
	}
	var out [][]byte
	for i := 0; len(out) < n; i++ {
		k := fmt.Appendf(nil, "key-%06d", i)
		if int(ring.KeyHash(k)>>shift) == p {
			out = append(out, k)
		}
	}
	return out
}
