package node_test

// A split heals by itself (issue 10, defect 7): a partition that lasts
// until both sides declare each other dead is forgotten once the network
// heals, with no operator action.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
)

// healBound is how long a test waits for a healed cluster to see itself
// whole: a few of gossip's reconnect attempts (at most 10 s apart).
const healBound = 30 * time.Second

// forgetDead has memberlist forget a member as soon as it is dead, and
// gossip to it no more, as it does (at its LAN default) once a member has
// been dead for 30 s: the test's partition then behaves as one that lasted
// that long, without the wait. (Healing before memberlist forgets can
// succeed without reconnecting, when memberlist still has news to gossip
// to the dead.)
func forgetDead(c *memberlist.Config) { c.GossipToTheDeadTime = time.Nanosecond }

// n3 is cut off from n1 and n2, gossip and replica traffic both ways,
// until each side sees the other dead; writes at n1 meanwhile leave hints
// for n3. After the heal every node sees every other alive, the hints
// reach n3, anti-entropy crosses the old split again, and a W=3 write and
// an R=3 read succeed through either side.
func TestPartitionHealsAfterBothSidesDeclaredDead(t *testing.T) {
	c := clustertest.NewTuned(t, 3, forgetDead, func(cfg *node.Config) { cfg.Partitions, cfg.AntiEntropyInterval = 16, time.Second })
	c.Partition("n1 n2", "n3")
	c.Eventually(10*time.Second, "both sides to see the other dead", func() bool {
		return c.State("n1", "n3") == "dead" && c.State("n2", "n3") == "dead" &&
			c.State("n3", "n1") == "dead" && c.State("n3", "n2") == "dead"
	})
	for i := range 10 {
		mustPut(t, c.Client("n1"), fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), nil, 2)
	}
	if got := c.HintsFor("n1", "n3"); got != 10 {
		t.Fatalf("n1 holds %d hints for n3 during the split, want 10", got)
	}
	// n3 can exchange with no one: its entropy age passes the interval.
	c.Eventually(10*time.Second, "n3's anti-entropy to stall", func() bool {
		ae := statusOf(t, c, "n3").GetAntiEntropy()
		return ae.GetEntropyAgeMs() > ae.GetIntervalMs()
	})

	c.Heal()
	c.Eventually(healBound, "every node to see every other alive", func() bool {
		for _, o := range []string{"n1", "n2", "n3"} {
			for _, m := range []string{"n1", "n2", "n3"} {
				if c.State(o, m) != "alive" {
					return false
				}
			}
		}
		return true
	})
	c.Eventually(healBound, "n1's hints for n3 delivered", func() bool { return c.HintsFor("n1", "n3") == 0 })
	for i := range 10 {
		if got := localValues(t, c, "n3", fmt.Sprintf("k%d", i)); !slices.Equal(got, []string{fmt.Sprintf("v%d", i)}) {
			t.Fatalf("n3 holds %q for k%d after the heal", got, i)
		}
	}
	c.Eventually(healBound, "n3's anti-entropy to resume", func() bool {
		ae := statusOf(t, c, "n3").GetAntiEntropy()
		return ae.GetEntropyAgeMs() < ae.GetIntervalMs()
	})
	for _, id := range []string{"n3", "n1"} {
		key := "after-" + id
		mustPut(t, c.Client(id), key, "v", nil, 3)
		if got := values(mustGet(t, c.Client(id), key, 3)); !slices.Equal(got, []string{"v"}) {
			t.Fatalf("r=3 read of %s through %s: %q", key, id, got)
		}
	}
}
