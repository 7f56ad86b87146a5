package faults

import (
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// packetSlots bounds the packets a slowed transport holds; past it, new
// ones are dropped, as a full UDP buffer drops them.
const packetSlots = 1024

// Transport wraps t, node self's memberlist transport, so that packets to
// a node on the other side of a partition are dropped (as UDP loses them:
// the write reports success), streams to it fail to dial or, once it
// starts, to read and write, and packets from it are dropped on arrival
// (known by their source, its gossip address). Streams arriving from it
// cannot be told apart (their source port is ephemeral): its own layer
// drops them. While self is slowed, packets leave after the latency, from
// a queue of their own, so memberlist's loops never wait. The wrapper's
// goroutines stop at Shutdown.
func (n *Network) Transport(self string, t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
	w := &transport{NodeAwareTransport: t, net: n, self: self, packets: make(chan *memberlist.Packet),
		delayed: make(chan delayedPacket, packetSlots), stopping: make(chan struct{}), stop: make(chan struct{})}
	w.wg.Add(2)
	go w.forward()
	go w.sendDelayed()
	return w
}

type transport struct {
	memberlist.NodeAwareTransport
	net     *Network
	self    string
	packets chan *memberlist.Packet // what arrived and passed
	delayed chan delayedPacket
	// stopping closes when Shutdown starts: from then on arrivals are
	// dropped, so the wrapped transport's listeners never block on a
	// reader that is going away; stop closes once it has shut down.
	stopping, stop chan struct{}
	once           sync.Once
	shutdownErr    error
	wg             sync.WaitGroup
}

type delayedPacket struct {
	b  []byte
	to memberlist.Address
	at time.Time
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *transport) WriteToAddress(b []byte, addr memberlist.Address) (time.Time, error) {
	if t.net.check(t.self, peer{addr.Name, addr.Addr}) != nil {
		return time.Now(), nil
	}
	if !t.net.slowed.Load() {
		return t.NodeAwareTransport.WriteToAddress(b, addr)
	}
	if d, _ := t.net.delay(t.self); d > 0 {
		select {
		case t.delayed <- delayedPacket{b: append([]byte(nil), b...), to: addr, at: time.Now()}:
		default: // the queue is full: lost, as UDP loses it
		}
		return time.Now(), nil
	}
	return t.NodeAwareTransport.WriteToAddress(b, addr)
}

// sendDelayed sends each queued packet when due, unless a partition came
// up between them meanwhile.
func (t *transport) sendDelayed() {
	defer t.wg.Done()
	lat := func() (time.Duration, <-chan struct{}) { return t.net.delay(t.self) }
	for {
		select {
		case p := <-t.delayed:
			if !waitDue(p.at, lat, t.stopping) {
				return
			}
			if t.net.check(t.self, peer{p.to.Name, p.to.Addr}) == nil {
				_, _ = t.NodeAwareTransport.WriteToAddress(p.b, p.to)
			}
		case <-t.stopping:
			return
		}
	}
}

func (t *transport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// forward passes on the packets that arrive, except those from a node on
// the other side of a partition.
func (t *transport) forward() {
	defer t.wg.Done()
	in := t.NodeAwareTransport.PacketCh()
	for {
		select {
		case p := <-in:
			if p.From != nil && t.net.CutFromAddr(t.self, p.From.String()) {
				t.net.dropped.Add(1)
				continue
			}
			select {
			case t.packets <- p:
			case <-t.stopping: // dropped
			}
		case <-t.stop:
			return
		}
	}
}

func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *transport) DialAddressTimeout(addr memberlist.Address, timeout time.Duration) (net.Conn, error) {
	to := peer{addr.Name, addr.Addr}
	if err := t.net.check(t.self, to); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	c, err := t.NodeAwareTransport.DialAddressTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return t.net.track(t.self, to, c), nil
}

// Shutdown shuts the wrapped transport down, then stops the wrapper's
// goroutines. It is idempotent.
func (t *transport) Shutdown() error {
	t.once.Do(func() {
		close(t.stopping)
		t.shutdownErr = t.NodeAwareTransport.Shutdown()
		close(t.stop)
		t.wg.Wait()
	})
	return t.shutdownErr
}
