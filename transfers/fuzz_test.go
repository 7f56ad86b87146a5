package transfers_test

import (
	"context"
	"testing"

	"github.com/ringkv/ringkv/ring"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/transfers"
	"github.com/ringkv/ringkv/vclock"
)

// Whatever a peer sends, a receiver refuses it with an error or merges
// it; it never panics, and a batch it accepted moves its cursor to the
// batch's end.
func FuzzReceiverSend(f *testing.F) {
	n := newNode(f)
	good := vclock.Update(vclock.Set{}, vclock.VV{}, 1, []byte("v"), false).Encode()
	f.Add([]byte("key-0001"), good, []byte(nil), []byte("\x64next"), false)
	f.Add([]byte("key-0002"), []byte{0xff, 0x01}, []byte("a"), []byte("b"), true)
	f.Add([]byte(""), good, []byte(nil), []byte(nil), true)
	f.Fuzz(func(t *testing.T, key, set, after, next []byte, done bool) {
		b := transfers.Batch{ID: transfers.ID{Partition: int(ringPartition(n, key)), From: "d", To: "r"},
			After: after, Next: next, Done: done, Items: []storage.TransferItem{{Key: key, Set: set}}}
		c, err := n.receiver().Send(context.Background(), b)
		if err == nil && string(c.After) != string(next) && !c.Done {
			t.Fatalf("accepted, but the cursor is %x, not the batch's end %x", c.After, next)
		}
		_ = n.receiver().Forget(b.ID)
	})
}

// ringPartition is the partition of key in n's store.
func ringPartition(n *node, key []byte) int {
	for p := range partitions {
		lo, hi := n.current().HashRange(p)
		if h := ring.KeyHash(key); h >= lo && h <= hi {
			return p
		}
	}
	return 0
}
