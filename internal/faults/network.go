package faults

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// ErrPartitioned is wrapped by the error of a dial, read or write that a
// partition stopped.
var ErrPartitioned = errors.New("faults: partitioned")

// Network is the fault layer shared by the nodes of one test (or one dev
// cluster). Its methods are safe for concurrent use.
type Network struct {
	mu    sync.Mutex
	owner map[string]string // address → node id
	side  map[string]int    // node id → group; empty when healed
	conns map[*conn]struct{}
}

// NewNetwork returns a Network with no partition.
func NewNetwork() *Network {
	return &Network{owner: map[string]string{}, side: map[string]int{}, conns: map[*conn]struct{}{}}
}

// Register says that node id listens on addrs (host:port, as peers dial
// them): its gossip and RPC addresses. A node restarted elsewhere
// registers again; the old addresses keep naming it.
func (n *Network) Register(id string, addrs ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range addrs {
		n.owner[a] = id
	}
}

// Partition cuts every node of each group off from the nodes of every
// other group, replacing any earlier partition, and closes the
// connections that now cross it. Nodes named in no group are not cut off.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	n.side = map[string]int{}
	for i, g := range groups {
		for _, id := range g {
			n.side[id] = i
		}
	}
	var cut []*conn
	for c := range n.conns {
		if _, ok := n.cutLocked(c.self, c.to); ok {
			cut = append(cut, c)
		}
	}
	n.mu.Unlock()
	for _, c := range cut {
		c.Close()
	}
}

// Heal ends the partition.
func (n *Network) Heal() { n.Partition() }

// Cut reports whether traffic between nodes a and b is dropped now.
func (n *Network) Cut(a, b string) bool {
	_, cut := n.cutFrom(a, peer{name: b})
	return cut
}

// peer names the far end of some traffic: by node name when the sender
// knows it, else by address. It is resolved when checked, so a connection
// opened before its peer registered is cut all the same.
type peer struct{ name, addr string }

// cutFrom reports whether traffic from node self to p is dropped now, and
// p's node id if known.
func (n *Network) cutFrom(self string, p peer) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cutLocked(self, p)
}

func (n *Network) cutLocked(self string, p peer) (string, bool) {
	id := p.name
	if id == "" {
		id = n.owner[p.addr]
	}
	a, oka := n.side[self]
	b, okb := n.side[id]
	return id, oka && okb && a != b
}

// check returns the error for traffic from self to p, nil if it passes.
func (n *Network) check(self string, p peer) error {
	if id, cut := n.cutFrom(self, p); cut {
		return fmt.Errorf("%w: %s cannot reach %s", ErrPartitioned, self, id)
	}
	return nil
}

// track wraps c, a connection from node self to p, so that a partition
// between them closes it.
func (n *Network) track(self string, to peer, c net.Conn) net.Conn {
	w := &conn{Conn: c, net: n, self: self, to: to}
	n.mu.Lock()
	n.conns[w] = struct{}{}
	n.mu.Unlock()
	return w
}

func (n *Network) untrack(c *conn) {
	n.mu.Lock()
	delete(n.conns, c)
	n.mu.Unlock()
}

// conn is a connection between two nodes that fails while they are cut off.
type conn struct {
	net.Conn
	net       *Network
	self      string
	to        peer
	closeOnce sync.Once
}

func (c *conn) Read(b []byte) (int, error) {
	if err := c.net.check(c.self, c.to); err != nil {
		c.Close()
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *conn) Write(b []byte) (int, error) {
	if err := c.net.check(c.self, c.to); err != nil {
		c.Close()
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *conn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.net.untrack(c)
		err = c.Conn.Close()
	})
	return err
}
