package main_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/testwait"
)

// A replica whose data directory is deleted gets every key back through
// anti-entropy alone: no client reads.
func TestWipedReplicaRefilledByAntiEntropy(t *testing.T) {
	d := startDevWith(t, 3, "--ae-interval", "2s")
	const keys = 2000
	c := client.New(d.addr("n1"))
	defer c.Close()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < keys; i += 8 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := c.Put(ctx, []byte(fmt.Sprintf("key-%d", i)), []byte(fmt.Sprintf("value-%d", i)), nil, 3)
				cancel()
				if err != nil {
					t.Errorf("put key-%d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	d.ok("dev", "stop", "n3", "--dir", d.dir)
	if err := os.RemoveAll(d.dir + "/n3/data"); err != nil {
		t.Fatal(err)
	}
	d.ok("dev", "start", "n3", "--dir", d.dir)
	n3 := client.New(d.addr("n3"))
	defer n3.Close()
	next := 0 // keys below next are known to be on n3
	testwait.Until(t, 60*time.Second, "every key back on n3", func() bool {
		for ; next < keys; next++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			res, err := n3.GetLocal(ctx, []byte(fmt.Sprintf("key-%d", next)))
			cancel()
			if err != nil || len(res.Values) != 1 || string(res.Values[0]) != fmt.Sprintf("value-%d", next) {
				return false
			}
		}
		return true
	})
}
