package faults

import (
	"net"
	"time"

	"github.com/hashicorp/memberlist"
)

// Transport wraps t, node self's memberlist transport, so that packets to
// a node on the other side of a partition are dropped (as UDP loses them:
// the write reports success) and streams to it fail to dial or, once it
// starts, to read and write. Packets and streams arriving from the other
// side are dropped by that side's own wrapper.
func (n *Network) Transport(self string, t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
	return &transport{NodeAwareTransport: t, net: n, self: self}
}

type transport struct {
	memberlist.NodeAwareTransport
	net  *Network
	self string
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *transport) WriteToAddress(b []byte, addr memberlist.Address) (time.Time, error) {
	if t.net.check(t.self, peer{addr.Name, addr.Addr}) != nil {
		return time.Now(), nil
	}
	return t.NodeAwareTransport.WriteToAddress(b, addr)
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
