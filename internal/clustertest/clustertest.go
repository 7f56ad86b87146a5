// Package clustertest runs several real ringkv nodes in one test process:
// real memberlist on loopback, real Pebble in temporary directories, real
// Connect servers. Tests use its verbs: New, Client, Stop, Restart,
// Partition, Heal, WaitConverged. Every node's gossip and peer traffic goes
// through one faults.Network, which passes everything until Partition.
package clustertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/memberlist"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/faults"
	"github.com/ringkv/ringkv/internal/testwait"
	"github.com/ringkv/ringkv/node"
)

// Cluster is a set of in-process nodes.
type Cluster struct {
	t     testing.TB
	nodes []*member
	net   *faults.Network
	tune  func(*memberlist.Config) // after FastGossip; may be nil
	// crashable: nodes keep their data in memory that Crash can roll back
	// to what was synced (see crash.go).
	crashable bool

	mu      sync.Mutex // guards clients: tests call Client from many goroutines
	clients map[string]*client.Client
}

type member struct {
	cfg  node.Config
	node *node.Node // nil while stopped
	disk *vfs.MemFS // the node's data, when the cluster is crashable
	lis  *cutListener
}

// FastGossip shortens memberlist's timings so loopback clusters form and
// notice failures in well under a second.
func FastGossip(c *memberlist.Config) {
	c.ProbeInterval = 100 * time.Millisecond
	c.ProbeTimeout = 50 * time.Millisecond
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = time.Second
	c.SuspicionMult = 2
}

// New starts n nodes (n1..nN) with replication factor min(3, n) and waits
// until every node sees every other alive. Nodes are stopped at cleanup.
func New(t testing.TB, n int, opts ...func(*node.Config)) *Cluster {
	t.Helper()
	return NewTuned(t, n, nil, opts...)
}

// NewTuned is New with tune applied to every node's memberlist
// configuration after FastGossip.
func NewTuned(t testing.TB, n int, tune func(*memberlist.Config), opts ...func(*node.Config)) *Cluster {
	t.Helper()
	return newCluster(t, n, false, tune, opts)
}

func newCluster(t testing.TB, n int, crashable bool, tune func(*memberlist.Config), opts []func(*node.Config)) *Cluster {
	c := &Cluster{t: t, clients: map[string]*client.Client{}, net: faults.NewNetwork(), tune: tune, crashable: crashable}
	seeds, founders := []string{}, []string{}
	for i := 1; i <= n; i++ {
		founders = append(founders, fmt.Sprintf("n%d", i))
	}
	for i := 1; i <= n; i++ {
		cfg := node.Config{
			// The nodes found the cluster together, as serve
			// --initial-members does: each builds the same ring.
			InitialMembers: founders,
			ID:             fmt.Sprintf("n%d", i),
			Dir:            t.TempDir(),
			Listen:         "127.0.0.1:0",
			Gossip:         "127.0.0.1:0",
			Seeds:          append([]string(nil), seeds...),
			N:              min(3, n),
			JoinTimeout:    5 * time.Second,
			// Fast heartbeats: the phi detector learns the interval, so
			// suspicion comes within a fraction of a second of a stop.
			HeartbeatInterval: 50 * time.Millisecond,
			HintWindow:        time.Hour,
		}
		for _, o := range opts {
			o(&cfg)
		}
		m := &member{cfg: cfg}
		if crashable {
			m.disk = newCrashableDisk(t, cfg.Dir)
		}
		c.nodes = append(c.nodes, m)
		c.start(m)
		seeds = append(seeds, m.cfg.Gossip)
	}
	t.Cleanup(c.Close)
	c.WaitConverged()
	return c
}

// start starts m. The first start binds port 0 for both the API and
// gossip, so the kernel picks ports nobody holds; a restart comes back on
// the same ones, as a restarted server usually does (package gossip tests
// a restart at a new address). Should something else (an outgoing
// connection from a test running in parallel) hold one of them in the
// meantime, the restart waits for it to be let go.
func (c *Cluster) start(m *member) {
	c.t.Helper()
	var nd *node.Node
	var err error
	testwait.Until(c.t, 10*time.Second, "start "+m.cfg.ID, func() bool {
		deps, ok := c.crashDeps(m, c.deps(m.cfg.ID))
		if !ok {
			return false
		}
		nd, err = node.New(m.cfg, deps)
		// memberlist formats its bind error with %v, so the errno is
		// only in the text.
		if errors.Is(err, syscall.EADDRINUSE) || (err != nil && strings.Contains(err.Error(), "address already in use")) {
			return false
		}
		if err != nil {
			c.t.Fatalf("start %s: %v", m.cfg.ID, err)
		}
		return true
	})
	m.node = nd
	m.cfg.Listen = nd.Addr()
	m.cfg.Gossip = nd.GossipAddr()
	c.net.Register(m.cfg.ID, m.cfg.Listen, m.cfg.Gossip)
}

// deps are node id's seams: fast gossip, and its gossip and peer traffic
// through the cluster's fault network. The memberlist label keeps the
// cluster to itself: a node of another test that comes to listen on an
// address one of these nodes used is not merged in by a reconnect.
func (c *Cluster) deps(id string) node.Deps {
	label := fmt.Sprintf("clustertest-%p", c)
	return node.Deps{
		TuneGossip: func(mc *memberlist.Config) {
			FastGossip(mc)
			mc.Label = label
			if c.tune != nil {
				c.tune(mc)
			}
		},
		GossipTransport: func(t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
			return c.net.Transport(id, t)
		},
		Dial: c.net.Dialer(id, nil),
	}
}

// Partition cuts the nodes of each group (ids separated by spaces) off
// from those of every other group, gossip and replica traffic both ways,
// until Heal; clients still reach every node. For example
// c.Partition("n1", "n2 n3").
func (c *Cluster) Partition(groups ...string) {
	var gs [][]string
	for _, g := range groups {
		gs = append(gs, strings.Fields(g))
	}
	c.net.Partition(gs...)
}

// Heal ends a partition.
func (c *Cluster) Heal() { c.net.Heal() }

func (c *Cluster) member(id string) *member {
	for _, m := range c.nodes {
		if m.cfg.ID == id {
			return m
		}
	}
	c.t.Fatalf("no node %s", id)
	return nil
}

// Node returns the running node id.
func (c *Cluster) Node(id string) *node.Node { return c.member(id).node }

// Addr is node id's API address (kept across restarts).
func (c *Cluster) Addr(id string) string { return c.member(id).cfg.Listen }

// Client returns a client of node id, closed at cleanup.
func (c *Cluster) Client(id string) *client.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[id]; ok {
		return cl
	}
	cl := client.New(c.Addr(id))
	c.clients[id] = cl
	c.t.Cleanup(cl.Close)
	return cl
}

// Stop shuts node id down cleanly; its data stays for Restart.
func (c *Cluster) Stop(id string) {
	c.t.Helper()
	m := c.member(id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.node.Close(ctx); err != nil {
		c.t.Fatalf("stop %s: %v", id, err)
	}
	m.node = nil
}

// Wipe deletes stopped node id's data directory: it restarts as a new
// replica (a new actor) with nothing in it.
func (c *Cluster) Wipe(id string) {
	c.t.Helper()
	m := c.member(id)
	if m.node != nil {
		c.t.Fatalf("wipe %s: it is running", id)
	}
	if err := os.RemoveAll(m.cfg.Dir); err != nil {
		c.t.Fatal(err)
	}
}

// Restart starts a stopped node again on the same data directory and
// addresses.
func (c *Cluster) Restart(id string) {
	c.t.Helper()
	m := c.member(id)
	m.cfg.Seeds = nil // every other node, as an operator's seed list would name them
	for _, o := range c.nodes {
		if o != m {
			m.cfg.Seeds = append(m.cfg.Seeds, o.cfg.Gossip)
		}
	}
	c.start(m)
}

// Join starts a new node id that joins the running cluster as `serve
// --seeds` does without --initial-members: through every other node's
// gossip address, it learns the agreed ring from a peer and joins it as a
// pending owner of its partitions (transfers are not wired yet, so it stays
// pending: it receives writes and counts toward nothing).
func (c *Cluster) Join(id string) {
	c.t.Helper()
	m := c.joiner(id)
	c.nodes = append(c.nodes, m)
	c.start(m)
}

// JoinTogether starts new nodes ids at the same time, each as Join does:
// their joins reach the ring through different nodes concurrently.
func (c *Cluster) JoinTogether(ids ...string) {
	c.t.Helper()
	ms := make([]*member, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		ms[i] = c.joiner(id)
		wg.Go(func() {
			deps, _ := c.crashDeps(ms[i], c.deps(id))
			ms[i].node, errs[i] = node.New(ms[i].cfg, deps)
		})
	}
	wg.Wait()
	for i, m := range ms {
		if errs[i] != nil {
			c.t.Fatalf("start %s: %v", m.cfg.ID, errs[i])
		}
		m.cfg.Listen, m.cfg.Gossip = m.node.Addr(), m.node.GossipAddr()
		c.net.Register(m.cfg.ID, m.cfg.Listen, m.cfg.Gossip)
		c.nodes = append(c.nodes, m)
	}
}

// joiner is the member for a new node id that joins through every node.
func (c *Cluster) joiner(id string) *member {
	cfg := c.nodes[0].cfg
	cfg.ID, cfg.Dir, cfg.Listen, cfg.Gossip, cfg.InitialMembers, cfg.Seeds = id, c.t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", nil, nil
	for _, o := range c.nodes {
		cfg.Seeds = append(cfg.Seeds, o.cfg.Gossip)
	}
	m := &member{cfg: cfg}
	if c.crashable {
		m.disk = vfs.NewCrashableMem()
	}
	return m
}

// WaitConverged waits until every running node sees every node alive and
// in its ring.
func (c *Cluster) WaitConverged() {
	c.t.Helper()
	c.Eventually(10*time.Second, "cluster converged", func() bool {
		for _, m := range c.nodes {
			if m.node == nil || !c.seesAllAlive(m) {
				return false
			}
		}
		return true
	})
}

func (c *Cluster) seesAllAlive(m *member) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cl := client.New(m.cfg.Listen)
	defer cl.Close()
	st, err := cl.Status(ctx)
	if err != nil {
		return false
	}
	alive := 0
	for _, mm := range st.GetMembers() {
		// Alive to gossip and a member of this node's agreed ring (an
		// owner, or a joiner pending for its partitions).
		if mm.GetState() == "alive" && mm.GetRingPhase() != "" {
			alive++
		}
	}
	return alive == len(c.nodes)
}

// State is member's state as node observer reports it ("" if unknown).
func (c *Cluster) State(observer, member string) string {
	st := c.status(observer)
	for _, m := range st.GetMembers() {
		if m.GetId() == member {
			return m.GetState()
		}
	}
	return ""
}

// HintsFor is how many hints node holder keeps for target.
func (c *Cluster) HintsFor(holder, target string) uint64 {
	for _, m := range c.status(holder).GetMembers() {
		if m.GetId() == target {
			return m.GetHints()
		}
	}
	return 0
}

func (c *Cluster) status(id string) *ringkvv1.StatusResponse {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Client(id).Status(ctx)
	if err != nil {
		c.t.Fatalf("status of %s: %v", id, err)
	}
	return st
}

// WaitUnhealthy waits until observer no longer routes to member: suspected
// by phi, or dead or left to gossip.
func (c *Cluster) WaitUnhealthy(observer, member string) {
	c.t.Helper()
	c.Eventually(10*time.Second, observer+" suspects "+member, func() bool {
		st := c.State(observer, member)
		return st == "suspect" || st == "dead" || st == "left"
	})
}

// Eventually polls cond until it holds or the deadline passes.
func (c *Cluster) Eventually(within time.Duration, what string, cond func() bool) {
	c.t.Helper()
	testwait.Until(c.t, within, what, cond)
}

// Close stops every running node.
func (c *Cluster) Close() {
	for _, m := range c.nodes {
		if m.node != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			m.node.Close(ctx)
			cancel()
			m.node = nil
		}
	}
}
