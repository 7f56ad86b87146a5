package gossip_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/internal/faults"
)

// faulty returns cfg with its memberlist traffic through network, and
// tune applied after the test defaults.
func faulty(network *faults.Network, cfg gossip.Config, tune func(*memberlist.Config)) gossip.Config {
	cfg.WrapTransport = func(t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
		return network.Transport(cfg.NodeID, t)
	}
	cfg.Tune = func(c *memberlist.Config) {
		fast(c)
		if tune != nil {
			tune(c)
		}
	}
	return cfg
}

// faultyCluster is cluster with every node's traffic through network.
func faultyCluster(t *testing.T, network *faults.Network, tune func(*memberlist.Config), ids ...string) []*gossip.Gossip {
	t.Helper()
	var nodes []*gossip.Gossip
	for i, id := range ids {
		cfg := config(id)
		if i > 0 {
			cfg = config(id, nodes[0].LocalAddr())
		}
		g := start(t, faulty(network, cfg, tune))
		network.Register(id, g.LocalAddr())
		nodes = append(nodes, g)
	}
	waitAll(t, nodes, ids, gossip.StateAlive)
	return nodes
}

// waitAll waits until every node in observers sees every member of ids
// (other than itself) in state want.
func waitAll(t *testing.T, observers []*gossip.Gossip, ids []string, want gossip.State) {
	t.Helper()
	for _, g := range observers {
		for _, id := range ids {
			if id != g.Self().ID {
				waitState(t, g, id, want)
			}
		}
	}
}

// forgetDead makes memberlist forget a dead member at once (it reaps dead
// members older than GossipToTheDeadTime each probe round, and gossips
// only to younger ones), as it does after a partition that outlasts
// GossipToTheDeadTime: then nothing of memberlist's own reaches the other
// side after the heal.
func forgetDead(c *memberlist.Config) { c.GossipToTheDeadTime = time.Nanosecond }

// rememberDead keeps dead members in memberlist's list (and gossips to
// them) for as long as memberlist's LAN default, longer than any test's
// partition: memberlist still remembers the other side when it heals.
func rememberDead(c *memberlist.Config) { c.GossipToTheDeadTime = 30 * time.Second }

// A split heals by itself. Once both sides of a partition have declared
// each other dead, memberlist probes neither and pushes/pulls with neither;
// after the heal, every node must see every other alive again, with
// heartbeats (phi) flowing, whether memberlist has already forgotten the
// dead members (partition longer than GossipToTheDeadTime) or not. (The
// second case can heal without reconnecting when the heal comes while
// memberlist still has broadcasts to gossip to the dead.)
func TestPartitionHealsAfterBothSidesDeclaredDead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		tune   func(*memberlist.Config)
		groups [][]string
	}{
		{"forgotten", forgetDead, [][]string{{"a"}, {"b", "c"}}},
		{"remembered", rememberDead, [][]string{{"a"}, {"b", "c"}}},
		{"five split two and three", forgetDead, [][]string{{"a", "b"}, {"c", "d", "e"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			network := faults.NewNetwork()
			all := slices.Concat(tc.groups...)
			nodes := faultyCluster(t, network, tc.tune, all...)
			network.Partition(tc.groups...)
			split := len(tc.groups[0])
			waitAll(t, nodes[:split], tc.groups[1], gossip.StateDead)
			waitAll(t, nodes[split:], tc.groups[0], gossip.StateDead)

			network.Heal()
			waitAll(t, nodes, all, gossip.StateAlive)
			for _, g := range nodes {
				for _, id := range all {
					// Alive already says phi is at most the threshold; a
					// fresh heartbeat from the peer brings it near 0.
					waitFor(t, g.Self().ID+" to hear "+id+"'s heartbeats", func() bool { return g.Phi(id) < 1 })
				}
			}
		})
	}
}

// A crashed node restarted at a new gossip address is seen alive there,
// whether the others had already declared its old life dead or not:
// memberlist refuses a known name at a new address unless its entry is
// dead and DeadNodeReclaimTime has passed (never, at its default of 0),
// or the entry has been forgotten.
func TestCrashedMemberRestartedAtNewAddressRejoins(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		waitForDeath bool
	}{
		{"after its death was noticed", true},
		{"before its death was noticed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			network := faults.NewNetwork()
			// memberlist's own push/pull, at its LAN default, would
			// otherwise repair the second case within 30 s.
			tune := func(c *memberlist.Config) {
				rememberDead(c)
				c.PushPullInterval = 30 * time.Second
			}
			nodes := faultyCluster(t, network, tune, "a", "b", "c")
			nodes[2].Close() // no Leave: a crash
			if tc.waitForDeath {
				waitAll(t, nodes[:2], []string{"c"}, gossip.StateDead)
			}
			c := start(t, faulty(network, config("c", nodes[0].LocalAddr()), tune))
			network.Register("c", c.LocalAddr())
			for _, g := range nodes[:2] {
				waitFor(t, g.Self().ID+" to see c alive at its new address", func() bool {
					m, _ := member(g, "c")
					return m.State == gossip.StateAlive && m.GossipAddr == c.LocalAddr()
				})
			}
			waitAll(t, []*gossip.Gossip{c}, []string{"a", "b"}, gossip.StateAlive)
		})
	}
}

// A restarted node finds its cluster again through the members it
// remembers (Config.Known, as ringkv passes them from disk), whether it has
// no seeds or its seeds are down.
func TestRestartedNodeRejoinsThroughKnownMembers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		seeds func(t *testing.T) []string
	}{
		{"no seeds", func(*testing.T) []string { return nil }},
		{"seeds down", func(t *testing.T) []string { return []string{freeAddr(t)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			network := faults.NewNetwork()
			nodes := faultyCluster(t, network, nil, "a", "b")
			b, _ := member(nodes[0], "b")
			nodes[0].Close()
			cfg := faulty(network, config("a", tc.seeds(t)...), nil)
			cfg.Known = []gossip.Member{b}
			a := start(t, cfg)
			network.Register("a", a.LocalAddr())
			waitAll(t, []*gossip.Gossip{a, nodes[1]}, []string{"a", "b"}, gossip.StateAlive)
		})
	}
}
