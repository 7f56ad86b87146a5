package transfers_test

import (
	"fmt"
	"testing"

	"github.com/ringkv/ringkv/transfers"
	"github.com/ringkv/ringkv/vclock"
)

// BenchmarkTransfer streams a partition of 5,000 keys of 1 KiB between two
// in-memory Pebble stores in process, at the default batch bounds and no
// rate limit: the machinery's own cost, without a network.
func BenchmarkTransfer(b *testing.B) {
	donor := newNode(b)
	value := make([]byte, 1<<10)
	for i := range 4 * 5000 {
		if _, err := donor.current().Update(fmt.Appendf(nil, "key-%06d", i), vclock.VV{}, value, false, 0); err != nil {
			b.Fatal(err)
		}
	}
	w := &world{t: b, donor: donor}
	b.SetBytes(w.partitionBytes())
	b.ResetTimer()
	for i := range b.N {
		recv := newNode(b)
		m, done := manager(b, donor, transfers.Config{})
		tid := id
		tid.Epoch = uint64(i)
		if err := m.Start(tid, recv.receiver()); err != nil {
			b.Fatal(err)
		}
		<-done
	}
}
