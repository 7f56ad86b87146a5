package faults

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
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
	slow  map[string]time.Duration // node id → latency added to what it sends
	// slowChanged is closed and replaced whenever a latency changes, so
	// that delay lines waiting on the old one wake up and re-read it.
	slowChanged chan struct{}
	dropped     atomic.Uint64 // packets dropped on arrival
	// partitioned and slowed let traffic skip the lock while no fault is
	// in force, the usual case: a dev cluster runs every node with the
	// layer, benchmarks included.
	partitioned, slowed atomic.Bool
}

// DroppedOnArrival counts the packets dropped when they arrived from a
// node on the other side of a partition.
func (n *Network) DroppedOnArrival() uint64 { return n.dropped.Load() }

// NewNetwork returns a Network with no partition.
func NewNetwork() *Network {
	return &Network{owner: map[string]string{}, side: map[string]int{}, conns: map[*conn]struct{}{},
		slow: map[string]time.Duration{}, slowChanged: make(chan struct{})}
}

// SetSlow adds latency d to everything node id sends to other nodes
// (packets, stream and connection writes) from now on, including what
// is already waiting in its delay lines; 0 removes it.
func (n *Network) SetSlow(id string, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if d <= 0 {
		delete(n.slow, id)
	} else {
		n.slow[id] = d
	}
	n.slowed.Store(len(n.slow) > 0)
	close(n.slowChanged)
	n.slowChanged = make(chan struct{})
}

// delay is node id's added latency now, and a channel closed when any
// latency changes.
func (n *Network) delay(id string) (time.Duration, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.slow[id], n.slowChanged
}

// CutFromAddr reports whether traffic that node self receives from addr
// (a registered gossip or API address) is dropped now.
func (n *Network) CutFromAddr(self, addr string) bool {
	_, cut := n.cutFrom(self, peer{addr: addr})
	return cut
}

// Register says that node id listens on addrs (host:port, as peers dial
// them): its gossip and RPC addresses. A node restarted elsewhere
// registers again; the old addresses keep naming it.
func (n *Network) Register(id string, addrs ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range addrs {
		if a != "" {
			n.owner[a] = id
		}
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
	n.partitioned.Store(len(groups) > 1)
	var cut []*conn
	for c := range n.conns {
		if to := c.to.Load(); to != nil {
			if _, ok := n.cutLocked(c.self, *to); ok {
				cut = append(cut, c)
			}
		}
	}
	n.mu.Unlock()
	for _, c := range cut {
		c.kill()
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
	if !n.partitioned.Load() {
		return "", false
	}
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
// between them closes it and a latency on self delays what it writes.
func (n *Network) track(self string, to peer, c net.Conn) net.Conn {
	w := n.trackInbound(self, c)
	w.to.Store(&to)
	return w
}

// trackInbound wraps c, a connection to node self from someone not yet
// known (a client, or a peer until it names itself): it passes untouched
// until named.
func (n *Network) trackInbound(self string, c net.Conn) *conn {
	w := &conn{Conn: c, net: n, self: self}
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

// conn is a connection between two nodes that fails while they are cut
// off, and whose writes pass through a delay line once its sender is slowed.
type conn struct {
	net.Conn
	net       *Network
	self      string
	to        atomic.Pointer[peer] // the far end; nil for an inbound connection not named yet
	closeOnce sync.Once
	mu        sync.Mutex                // serialises starting the line
	line      atomic.Pointer[delayLine] // nil until the sender is first slowed
}

// cut returns the error for traffic on c, nil if it passes.
func (c *conn) cut() error {
	if to := c.to.Load(); to != nil {
		return c.net.check(c.self, *to)
	}
	return nil
}

func (c *conn) Read(b []byte) (int, error) {
	if err := c.cut(); err != nil {
		c.kill()
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *conn) Write(b []byte) (int, error) {
	if err := c.cut(); err != nil {
		c.kill()
		return 0, err
	}
	if l := c.delayLine(); l != nil {
		return l.write(b)
	}
	return c.Conn.Write(b)
}

// delayLine returns the connection's delay line, started the first time
// its sender writes while slowed; nil until then. Once started it stays:
// what it holds must go out before later writes.
func (c *conn) delayLine() *delayLine {
	if l := c.line.Load(); l != nil || !c.net.slowed.Load() || c.to.Load() == nil {
		return l // clients are never slowed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.line.Load() == nil {
		if d, _ := c.net.delay(c.self); d > 0 {
			c.line.Store(newDelayLine(c.Conn, func() (time.Duration, <-chan struct{}) { return c.net.delay(c.self) }))
		}
	}
	return c.line.Load()
}

// Close closes the connection; what its delay line holds still goes out
// first, as a kernel sends a closed socket's buffer, but readers wake now.
func (c *conn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.net.untrack(c)
		l := c.line.Load()
		if l == nil {
			err = c.Conn.Close()
			return
		}
		err = c.Conn.SetReadDeadline(time.Now())
		l.closeAfterFlush()
	})
	return err
}

// kill closes the connection at once, dropping what its delay line holds:
// a partition cut it.
func (c *conn) kill() {
	c.Close()
	if l := c.line.Load(); l != nil {
		l.abort()
	}
	c.Conn.Close()
}
