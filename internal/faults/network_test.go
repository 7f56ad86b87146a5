package faults_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/ringkv/ringkv/internal/faults"
)

// listen returns a loopback listener that accepts and holds connections.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln := loopback(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln
}

func TestPartitionFailsDialsAndCutsConnectionsUntilHealed(t *testing.T) {
	network := faults.NewNetwork()
	ln := listen(t)
	dial := network.Dialer("a", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// Opened before b registered its address: cut all the same.
	before, err := dial(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial before the partition: %v", err)
	}
	network.Register("b", ln.Addr().String())
	network.Partition([]string{"a"}, []string{"b", "c"})
	if !network.Cut("a", "b") || !network.Cut("b", "a") || network.Cut("b", "c") || network.Cut("a", "x") {
		t.Fatal("Cut does not follow the groups")
	}
	if _, err := before.Write([]byte("x")); !errors.Is(err, faults.ErrPartitioned) && !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write on a connection across the partition: %v", err)
	}
	if _, err := dial(ctx, "tcp", ln.Addr().String()); !errors.Is(err, faults.ErrPartitioned) {
		t.Fatalf("dial across the partition: %v, want ErrPartitioned", err)
	}

	network.Heal()
	after, err := dial(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial after the heal: %v", err)
	}
	defer after.Close()
	if _, err := after.Write([]byte("x")); err != nil {
		t.Fatalf("write after the heal: %v", err)
	}
}

// A memberlist transport drops packets to the other side (as UDP loses
// them: no error) and fails its streams; memberlist addresses name the
// peer, and the mock network delivers a packet before WriteTo returns.
func TestTransportDropsAcrossThePartition(t *testing.T) {
	network := faults.NewNetwork()
	mock := &memberlist.MockNetwork{}
	a, b := network.Transport("a", mock.NewTransport("a")), mock.NewTransport("b")
	defer a.Shutdown()
	got, done := make(chan string, 2), make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case p := <-b.PacketCh():
				got <- string(p.Buf)
			case <-done:
				return
			}
		}
	}()
	to := memberlist.Address{Addr: "127.0.0.1:2", Name: "b"}

	network.Partition([]string{"a"}, []string{"b"})
	if _, err := a.DialAddressTimeout(to, time.Second); !errors.Is(err, faults.ErrPartitioned) {
		t.Fatalf("stream to b across the partition: %v, want ErrPartitioned", err)
	}
	if _, err := a.WriteToAddress([]byte("dropped"), to); err != nil {
		t.Fatalf("packet to b across the partition: %v, want a silent drop", err)
	}
	network.Heal()
	if _, err := a.WriteToAddress([]byte("delivered"), to); err != nil {
		t.Fatalf("packet after the heal: %v", err)
	}
	if p := <-got; p != "delivered" {
		t.Fatalf("b received %q first, want only the packet sent after the heal", p)
	}
}
