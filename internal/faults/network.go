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
		if n.cutLocked(c.self, c.peer) {
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
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cutLocked(a, b)
}

func (n *Network) cutLocked(a, b string) bool {
	sa, oka := n.side[a]
	sb, okb := n.side[b]
	return oka && okb && sa != sb
}

// cutAddr is Cut for a peer named by name if known, else by address.
func (n *Network) cutAddr(self, name, addr string) (peer string, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	peer = name
	if peer == "" {
		peer = n.owner[addr]
	}
	return peer, peer != "" && n.cutLocked(self, peer)
}

func (n *Network) errCut(self, peer string) error {
	return fmt.Errorf("%w: %s cannot reach %s", ErrPartitioned, self, peer)
}

// track wraps c, a connection from node self to node peer, so that a
// partition between them closes it.
func (n *Network) track(self, peer string, c net.Conn) net.Conn {
	if peer == "" {
		return c
	}
	w := &conn{Conn: c, net: n, self: self, peer: peer}
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
	net        *Network
	self, peer string
	closeOnce  sync.Once
}

func (c *conn) Read(b []byte) (int, error) {
	if c.net.Cut(c.self, c.peer) {
		c.Close()
		return 0, c.net.errCut(c.self, c.peer)
	}
	return c.Conn.Read(b)
}

func (c *conn) Write(b []byte) (int, error) {
	if c.net.Cut(c.self, c.peer) {
		c.Close()
		return 0, c.net.errCut(c.self, c.peer)
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
