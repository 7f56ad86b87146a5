package node_test

// Anti-entropy, as the Dynamo paper describes it: Merkle trees per
// partition, exchanged in the background, repairing what hinted handoff
// and read repair missed.

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
)

// fastEntropy makes a pass of exchanges quick: few partitions, a short
// interval, no repair rate limit to speak of.
func fastEntropy(cfg *node.Config) {
	cfg.Partitions = 16
	cfg.AntiEntropyInterval = 300 * time.Millisecond
	cfg.AntiEntropyRepairRate = 100000
}

// A replica whose data directory was wiped gets every key back from the
// others with no client reads at all.
func TestAntiEntropyRefillsAWipedReplica(t *testing.T) {
	c := clustertest.New(t, 3, fastEntropy)
	const keys = 1000
	for i := range keys {
		mustPut(t, c.Client("n1"), fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), nil, 3)
	}
	c.Stop("n3")
	c.Wipe("n3")
	c.Restart("n3")
	c.Eventually(60*time.Second, "n3 holds every key again", func() bool {
		for i := keys - 1; i >= 0; i-- {
			if !slices.Equal(localValues(t, c, "n3", fmt.Sprintf("k%d", i)), []string{fmt.Sprintf("v%d", i)}) {
				return false
			}
		}
		return true
	})
	var repaired uint64
	for _, id := range []string{"n1", "n2", "n3"} {
		ae := statusOf(t, c, id).GetAntiEntropy()
		repaired += ae.GetKeysPulled() + ae.GetKeysPushed()
	}
	if repaired < keys {
		t.Fatalf("anti-entropy counted %d keys repaired, want at least %d", repaired, keys)
	}
}

func statusOf(t *testing.T, c *clustertest.Cluster, id string) *ringkvv1.StatusResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Client(id).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A deleted key stays deleted on every replica through the grace period
// and reaping, and a replica that was down during the delete does not
// bring it back; afterwards the tombstone is gone from every replica.
func TestTombstonesAreReapedWithoutResurrection(t *testing.T) {
	c := clustertest.New(t, 3, fastEntropy, func(cfg *node.Config) {
		cfg.HintWindow = 100 * time.Millisecond
		cfg.TombstoneGrace = time.Second
		cfg.DisableHintedHandoff = true // n3 learns of the delete only through exchanges and reads
	})
	mustPut(t, c.Client("n1"), "k", "v", nil, 3)
	c.Stop("n3") // n3 keeps the live value
	c.WaitUnhealthy("n1", "n3")
	cur := mustGet(t, c.Client("n1"), "k", 2)
	if _, err := c.Client("n1").Delete(ctxT(t), []byte("k"), cur.Context, 2); err != nil {
		t.Fatal(err)
	}
	c.Restart("n3")
	c.Eventually(30*time.Second, "the tombstone reaped on every replica", func() bool {
		// A replica suspected for a moment on a loaded machine fails an
		// R=3 read; that is not what this test is about, so poll again.
		g, err := c.Client("n2").Get(ctxT(t), []byte("k"), 3)
		if err != nil {
			return false
		}
		if g.Found {
			t.Fatalf("the deleted key came back: %q", g.Values)
		}
		for _, id := range []string{"n1", "n2", "n3"} {
			res, err := c.Client(id).GetLocal(ctxT(t), []byte("k"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Found {
				t.Fatalf("%s holds the deleted key again: %q", id, res.Values)
			}
			if len(res.Context) > 2 { // a non-empty clock: the tombstone is still there
				return false
			}
		}
		return true
	})
}

// A restarted node resumes its exchanges with no operator action. Its
// entropy age counts the time it was down (each partition's last exchange
// is kept in Pebble), then falls back under the interval.
func TestRestartedNodeResumesExchanges(t *testing.T) {
	c := clustertest.New(t, 3, func(cfg *node.Config) { cfg.Partitions, cfg.AntiEntropyInterval = 16, time.Second })
	for i := range 50 {
		mustPut(t, c.Client("n1"), fmt.Sprintf("k%d", i), "v", nil, 3)
	}
	// Two passes' worth of exchanges and an age under the interval: every
	// partition was compared within the last second, after n2 started.
	c.Eventually(20*time.Second, "n2 compared every partition", func() bool {
		ae := statusOf(t, c, "n2").GetAntiEntropy()
		return ae.GetExchanges() >= 32 && ae.GetEntropyAgeMs() < ae.GetIntervalMs()
	})
	c.Stop("n2")
	stopped := time.Now()
	c.Restart("n2")
	down := time.Since(stopped).Truncate(time.Millisecond)
	if age := time.Duration(statusOf(t, c, "n2").GetAntiEntropy().GetEntropyAgeMs()) * time.Millisecond; age < down {
		t.Errorf("n2's entropy age right after its restart is %v, want at least the %v since it stopped", age, down)
	}
	c.Eventually(20*time.Second, "n2's entropy age back under the interval", func() bool {
		ae := statusOf(t, c, "n2").GetAntiEntropy()
		return ae.GetExchanges() > 0 && ae.GetEntropyAgeMs() < ae.GetIntervalMs()
	})
}
