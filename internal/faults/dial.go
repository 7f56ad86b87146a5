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
