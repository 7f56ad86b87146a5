package node_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/vclock"
)

// clientKinds are the two ways a Go client reaches a node: a unary call
// per request, or requests pipelined on one stream.
var clientKinds = []struct {
	name string
	opts []client.Option
}{{"unary", nil}, {"pipelined", []client.Option{client.Pipelined()}}}

// BenchmarkClusterPut measures quorum writes (N=3, W=2, synced) through a
// 3-node in-process cluster over loopback Connect, from parallel clients.
func BenchmarkClusterPut(b *testing.B) {
	c := clustertest.New(b, 3)
	value := make([]byte, 100)
	var seq atomic.Int64
	for _, kind := range clientKinds {
		b.Run(kind.name, func(b *testing.B) {
			cl := client.New(c.Addr("n1"), kind.opts...)
			defer cl.Close()
			runParallel(b, func() error {
				key := []byte("bench-" + strconv.FormatInt(seq.Add(1), 10))
				_, err := cl.Put(context.Background(), key, value, nil, 2)
				return err
			})
		})
	}
}

// BenchmarkClusterGet measures quorum reads (R=2) of existing keys.
func BenchmarkClusterGet(b *testing.B) {
	c := clustertest.New(b, 3)
	value := make([]byte, 100)
	for i := range 1000 {
		if _, err := c.Client("n1").Put(context.Background(), []byte(fmt.Sprintf("bench-%d", i)), value, nil, 3); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Int64
	for _, kind := range clientKinds {
		b.Run(kind.name, func(b *testing.B) {
			cl := client.New(c.Addr("n1"), kind.opts...)
			defer cl.Close()
			runParallel(b, func() error {
				key := []byte("bench-" + strconv.FormatInt(seq.Add(1)%1000, 10))
				_, err := cl.Get(context.Background(), key, 2)
				return err
			})
		})
	}
}

// runParallel runs op from 16 goroutines (on 2 cores) and reports ops/s.
func runParallel(b *testing.B, op func() error) {
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkStoreUpdate measures one replica's synced read-modify-write
// from parallel writers (group commit shares the fsyncs).
func BenchmarkStoreUpdate(b *testing.B) {
	s, err := storage.Open(storage.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, 100)
	var seq atomic.Int64
	runParallel(b, func() error {
		key := []byte("k" + strconv.FormatInt(seq.Add(1), 10))
		_, err := s.Update(key, vclock.VV{}, value, false, 0)
		return err
	})
}

// BenchmarkStoreRead measures one replica's local read of an existing key.
func BenchmarkStoreRead(b *testing.B) {
	s, err := storage.Open(storage.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, 100)
	for i := range 10000 {
		if _, err := s.Update([]byte("k"+strconv.Itoa(i)), vclock.VV{}, value, false, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Read([]byte("k" + strconv.Itoa(i%10000))); err != nil {
			b.Fatal(err)
		}
	}
}
