package faults

import (
	"context"
	"net"
)

// DialFunc opens a connection, as net.Dialer.DialContext does.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Dialer wraps dial, the dialer node self opens peer connections with, so
// that dials to a registered address of a node on the other side of a
// partition fail and connections that come to cross one are closed. A nil
// dial means a zero net.Dialer.
func (n *Network) Dialer(self string, dial DialFunc) DialFunc {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		to := peer{addr: addr}
		if err := n.check(self, to); err != nil {
			return nil, err
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return n.track(self, to, c), nil
	}
}

// Listener wraps ln, node self's API listener, so that a connection a
// peer opened to it can be named (Named) and then be treated as one self
// opened: closed by a partition between them, delayed while self is
// slowed. Connections nobody names (clients) pass untouched.
func (n *Network) Listener(self string, ln net.Listener) net.Listener {
	return listener{Listener: ln, net: n, self: self}
}

type listener struct {
	net.Listener
	net  *Network
	self string
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.net.trackInbound(l.self, c), nil
}

// Named records that c, a connection a Listener accepted, carries the
// calls of node id. The first name sticks; other connections are ignored.
func (n *Network) Named(c net.Conn, id string) {
	if w, ok := c.(*conn); ok && id != "" {
		w.to.CompareAndSwap(nil, &peer{name: id})
	}
}
