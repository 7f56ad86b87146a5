package gossip_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/gossip/phi"
	"github.com/ringkv/ringkv/internal/freeport"
	"github.com/ringkv/ringkv/internal/testwait"
)

// settings is what every test cluster runs with.
var settings = gossip.Settings{N: 3, Partitions: 64}

// fast shortens memberlist's intervals so that a loopback cluster converges
// and detects a crash in well under a second, while a 60 ms probe timeout
// leaves room for a busy race-enabled test binary.
func fast(c *memberlist.Config) {
	c.ProbeInterval = 100 * time.Millisecond
	c.ProbeTimeout = 60 * time.Millisecond
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 250 * time.Millisecond
	c.SuspicionMult = 2
	c.SuspicionMaxTimeoutMult = 2
	c.TCPTimeout = 500 * time.Millisecond
	c.GossipToTheDeadTime = 500 * time.Millisecond
}

// config returns the configuration of test node id on a free loopback
// port, joining through seeds.
func config(id string, seeds ...string) gossip.Config {
	c := gossip.DefaultConfig()
	c.NodeID = id
	c.BindAddr = "127.0.0.1:0"
	c.RPCAddr = "rpc-" + id + ":8080"
	c.Seeds = seeds
	c.Settings = settings
	c.JoinTimeout = 5 * time.Second
	c.JoinBackoff = 20 * time.Millisecond
	c.JoinBackoffMax = 100 * time.Millisecond
	c.ReconnectBackoff = 50 * time.Millisecond
	c.ReconnectInterval = 500 * time.Millisecond
	c.Tune = fast
	c.HeartbeatInterval = 50 * time.Millisecond
	c.Phi = testPhi
	return c
}

// testPhi suspects a peer that heartbeats every 50 ms about 2.1 s after its
// last heartbeat (50 ms + 1.5 s + 5.2·100 ms): quick for a test, yet far
// beyond the stalls a busy race-enabled test binary sees.
var testPhi = phi.Config{MinStdDev: 100 * time.Millisecond, AcceptablePause: 1500 * time.Millisecond}

// isolated returns cfg with a memberlist label unique to test t:
// memberlist drops packets and streams with another label, so a node of a
// test running in parallel that comes to listen on an address a node of t
// used (a crashed node's, which the reconnect loop keeps dialling) can
// never merge the two clusters.
func isolated(t *testing.T, cfg gossip.Config) gossip.Config {
	tune, label := cfg.Tune, t.Name()
	label = label[:min(len(label), 255)] // memberlist's limit
	cfg.Tune = func(c *memberlist.Config) {
		if tune != nil {
			tune(c)
		}
		c.Label = label
	}
	return cfg
}

// start starts a node, isolated to t, and closes it when the test ends.
func start(t *testing.T, cfg gossip.Config) *gossip.Gossip {
	t.Helper()
	g, err := gossip.New(isolated(t, cfg))
	if err != nil {
		t.Fatalf("start %s: %v", cfg.NodeID, err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// cluster starts nodes ids, all joining through the first, and waits until
// every one sees every other alive.
func cluster(t *testing.T, ids ...string) []*gossip.Gossip {
	t.Helper()
	nodes := []*gossip.Gossip{start(t, config(ids[0]))}
	for _, id := range ids[1:] {
		nodes = append(nodes, start(t, config(id, nodes[0].LocalAddr())))
	}
	for _, g := range nodes {
		for _, id := range ids {
			waitState(t, g, id, gossip.StateAlive)
		}
	}
	return nodes
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, 10*time.Second, what, cond)
}

func waitState(t *testing.T, g *gossip.Gossip, id string, want gossip.State) {
	t.Helper()
	waitFor(t, g.Self().ID+" to see "+id+" "+string(want), func() bool {
		m, _ := member(g, id)
		return m.State == want
	})
}

func member(g *gossip.Gossip, id string) (gossip.Member, bool) {
	for _, m := range g.Members() {
		if m.ID == id {
			return m, true
		}
	}
	return gossip.Member{}, false
}

func ids(ms []gossip.Member) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return strings.Join(out, " ")
}

// freeAddr returns a loopback address no socket holds right now, for a node
// that must be named before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := freeport.Base(0)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", p)
}
