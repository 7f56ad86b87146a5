package faults_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/memberlist"

	"github.com/ringkv/ringkv/internal/faults"
	"github.com/ringkv/ringkv/internal/testwait"
)

// received accepts one connection on ln and collects what it reads, with
// the time each read returned.
type received struct {
	data chan []byte
	at   chan time.Time
	done chan struct{} // closed at EOF
}

func receive(t *testing.T, ln net.Listener) *received {
	t.Helper()
	r := &received{data: make(chan []byte, 1024), at: make(chan time.Time, 1024), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				r.data <- append([]byte(nil), buf[:n]...)
				r.at <- time.Now()
			}
			if err != nil {
				return
			}
		}
	}()
	return r
}

func loopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// A slowed sender's writes return at once and wait in a delay line: many
// are in flight together (latency, not a throughput cap), each arrives
// the latency after it was written at the earliest, and lowering the
// latency releases what waits, in order.
func TestSlowConnDelaysWritesWithoutCappingThroughput(t *testing.T) {
	network := faults.NewNetwork()
	ln := loopback(t)
	r := receive(t, ln)
	c, err := network.Dialer("a", nil)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	network.SetSlow("a", 10*time.Second)
	var sent bytes.Buffer
	for i := range 64 { // 1 MiB in 64 writes: 64 × 10 s if each waited its turn
		chunk := bytes.Repeat([]byte{byte(i)}, 16<<10)
		if n, err := c.Write(chunk); err != nil || n != len(chunk) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
		sent.Write(chunk)
	}
	select {
	case b := <-r.data:
		t.Fatalf("%d bytes arrived before their 10 s latency", len(b))
	default:
	}
	network.SetSlow("a", 0)
	var got bytes.Buffer
	for got.Len() < sent.Len() {
		got.Write(<-r.data)
		<-r.at
	}
	if !bytes.Equal(got.Bytes(), sent.Bytes()) {
		t.Fatal("the delayed bytes arrived changed or out of order")
	}

	const latency = 50 * time.Millisecond
	network.SetSlow("a", latency)
	start := time.Now()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	<-r.data
	if took := (<-r.at).Sub(start); took < latency {
		t.Fatalf("a write arrived after %s, want at least the %s latency", took, latency)
	}
	// Close lets what waits go out, then closes.
	if _, err := c.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if b := <-r.data; string(b) != "last" {
		t.Fatalf("after close got %q, want the bytes written before it", b)
	}
	<-r.done
}

// A partition drops a slowed connection at once, with what waits in its
// delay line.
func TestPartitionKillsASlowConnection(t *testing.T) {
	network := faults.NewNetwork()
	ln := loopback(t)
	r := receive(t, ln)
	network.Register("b", ln.Addr().String())
	c, err := network.Dialer("a", nil)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	network.SetSlow("a", 10*time.Second)
	if _, err := c.Write([]byte("never")); err != nil {
		t.Fatal(err)
	}
	network.Partition([]string{"a"}, []string{"b"})
	<-r.done
	select {
	case b := <-r.data:
		t.Fatalf("%q crossed the partition", b)
	default:
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("write on a connection cut by the partition succeeded")
	}
}

func TestSlowDiskDelaysEverySync(t *testing.T) {
	layer := faults.NewLayer("n1", slog.New(slog.DiscardHandler))
	fs := layer.FS(vfs.NewMem())
	f, err := fs.Create("wal", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("entry")); err != nil {
		t.Fatal(err)
	}
	const latency = 30 * time.Millisecond
	if err := layer.Set(faults.Spec{SlowDisk: latency}); err != nil {
		t.Fatal(err)
	}
	syncs := map[string]func() error{
		"Sync":     f.Sync,
		"SyncData": f.SyncData,
		"SyncTo":   func() error { _, err := f.SyncTo(5); return err },
	}
	for name, sync := range syncs {
		start := time.Now()
		if err := sync(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if took := time.Since(start); took < latency {
			t.Fatalf("%s took %s, want at least the %s latency", name, took, latency)
		}
	}
	if err := layer.Set(faults.Spec{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync after the latency was removed: %v", err)
	}
	if got := layer.Get(); got.SlowDisk != 0 {
		t.Fatalf("faults after removing the latency: %v", got)
	}
}

// Packets from a node on the other side are dropped when they arrive,
// known by their source address: the cut holds even if the sender's own
// layer never heard of the partition. Real UDP sockets on loopback.
func TestInboundPacketsFromTheOtherSideAreDropped(t *testing.T) {
	network := faults.NewNetwork()
	a, wrapped, bAddr := wrappedPair(t, network)
	network.Register("a", addrOf(a))

	network.Partition([]string{"a"}, []string{"b"})
	if _, err := a.WriteToAddress([]byte("dropped"), bAddr); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "b drops the packet from a", func() bool { return network.DroppedOnArrival() == 1 })
	network.Heal()
	var got string
	testwait.Until(t, 10*time.Second, "a packet sent after the heal arrives", func() bool {
		if _, err := a.WriteToAddress([]byte("delivered"), bAddr); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-wrapped.PacketCh():
			got = string(p.Buf)
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	})
	if got != "delivered" {
		t.Fatalf("b received %q first, want only packets sent after the heal", got)
	}
}

// wrappedPair starts two memberlist transports on loopback, the second
// wrapped as node b's, and returns the first, the wrapped second and b's
// address; both are shut down at cleanup.
func wrappedPair(t *testing.T, network *faults.Network) (*memberlist.NetTransport, memberlist.NodeAwareTransport, memberlist.Address) {
	t.Helper()
	a, raw := netTransport(t), netTransport(t)
	b := network.Transport("b", raw)
	t.Cleanup(func() {
		b.Shutdown()
		a.Shutdown()
	})
	return a, b, memberlist.Address{Addr: addrOf(raw), Name: "b"}
}

func netTransport(t *testing.T) *memberlist.NetTransport {
	t.Helper()
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: 0})
	if err != nil {
		t.Fatal(err)
	}
	return nt
}

func addrOf(nt *memberlist.NetTransport) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(nt.GetAutoBindPort()))
}

func TestBadFaultsAreRefused(t *testing.T) {
	layer := faults.NewLayer("n1", slog.New(slog.DiscardHandler))
	good := faults.Spec{Groups: [][]string{{"n1"}, {"n2", "n3"}}, Slow: 50 * time.Millisecond}
	if err := layer.Set(good); err != nil {
		t.Fatal(err)
	}
	many := make([][]string, faults.MaxGroups+1)
	for i := range many {
		many[i] = []string{"n" + strconv.Itoa(i)}
	}
	for _, tc := range []struct {
		spec faults.Spec
		want string
	}{
		{faults.Spec{Slow: -time.Millisecond}, "slow latency -1ms is outside 0..10s"},
		{faults.Spec{SlowDisk: 11 * time.Second}, "slow-disk latency 11s is outside 0..10s"},
		{faults.Spec{Groups: [][]string{{"n1"}, {}}}, "partition group 2 is empty"},
		{faults.Spec{Groups: [][]string{{"n1", "n2"}, {"n2"}}}, "n2 is in groups 1 and 2"},
		{faults.Spec{Groups: [][]string{{"n1", ""}}}, "node id of 0 bytes"},
		{faults.Spec{Groups: [][]string{{strings.Repeat("x", faults.MaxNodeID+1)}}}, "node id of 257 bytes"},
		{faults.Spec{Groups: many}, "65 partition groups; at most 64"},
	} {
		err := layer.Set(tc.spec)
		if !errors.Is(err, faults.ErrBadSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%v): %v, want ErrBadSpec saying %q", tc.spec, err, tc.want)
		}
	}
	if got := layer.Get(); got.String() != good.String() {
		t.Fatalf("after refused calls the faults are %v, want %v unchanged", got, good)
	}
	if err := layer.Refuses("n2"); !errors.Is(err, faults.ErrPartitioned) {
		t.Fatalf("calls from n2 across the partition: %v, want ErrPartitioned", err)
	}
	if err := layer.Refuses("n1"); err != nil {
		t.Fatalf("calls from its own group: %v", err)
	}
}

// A connection a peer opened to a node is cut by a partition once the
// peer's call named it; a client's connection, never named, is not.
func TestNamedInboundConnectionsAreCutClientsAreNot(t *testing.T) {
	network := faults.NewNetwork()
	ln := network.Listener("a", loopback(t))
	accept := func() net.Conn {
		raw, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	fromPeer, fromClient := accept(), accept()
	network.Named(fromPeer, "b")
	network.Partition([]string{"a"}, []string{"b"})
	if _, err := fromPeer.Write([]byte("x")); err == nil {
		t.Fatal("a write on b's connection across the partition succeeded")
	}
	if _, err := fromClient.Write([]byte("x")); err != nil {
		t.Fatalf("a write on a client's connection during the partition: %v", err)
	}
}

// Shutdown returns even while packets arrive that nobody reads: the
// wrapped transport's listener must not block on a reader going away
// (memberlist shuts its transport down before it stops reading).
func TestTransportShutsDownWhilePacketsArriveUnread(t *testing.T) {
	a, b, to := wrappedPair(t, faults.NewNetwork())
	stop, sent := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = a.WriteToAddress([]byte("unread"), to)
			if i%10 == 9 {
				time.Sleep(time.Millisecond) // pace the load, not synchronisation
			}
		}
	}()
	defer func() { close(stop); <-sent }()
	<-b.PacketCh() // packets flow; nobody reads the next ones
	done := make(chan error, 1)
	go func() { done <- b.Shutdown() }()
	var err error
	testwait.Until(t, 10*time.Second, "Shutdown returns", func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}
