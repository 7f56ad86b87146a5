package node_test

// Failure handling, as the Dynamo paper describes it: sloppy quorum with
// hinted handoff, and read repair.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
	"github.com/ringkv/ringkv/ring"
)

func localValues(t *testing.T, c *clustertest.Cluster, id, key string) []string {
	t.Helper()
	res, err := c.Client(id).GetLocal(ctxT(t), []byte(key))
	if err != nil {
		t.Fatalf("get --local %s on %s: %v", key, id, err)
	}
	return values(res)
}

func hintedAcks(res client.WriteResult) []string {
	var out []string
	for _, a := range res.Acks {
		if a.HintFor != "" {
			out = append(out, a.Node+">"+a.HintFor)
		}
	}
	slices.Sort(out)
	return out
}

// Hinted handoff: with a replica down, its writes are kept as hints by the
// coordinator (no other node is free in a 3-node ring) and delivered when
// it returns; the hints survive a restart of the node holding them.
func TestHintsAreHandedOffWhenTheReplicaReturns(t *testing.T) {
	c := clustertest.New(t, 3)
	c.Stop("n3")
	c.WaitUnhealthy("n1", "n3")
	for i := range 20 {
		res := mustPut(t, c.Client("n1"), fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), nil, 2)
		if got := hintedAcks(res); !slices.Equal(got, []string{"n1>n3"}) {
			t.Fatalf("put k%d: hinted acks %v, want n1 holding a hint for n3", i, got)
		}
	}
	if got := c.HintsFor("n1", "n3"); got != 20 {
		t.Fatalf("n1 holds %d hints for n3, want 20", got)
	}
	c.Stop("n1") // hints are durable: they outlive a restart of their holder
	c.Restart("n1")
	c.Restart("n3")
	c.Eventually(20*time.Second, "hints for n3 delivered", func() bool { return c.HintsFor("n1", "n3") == 0 })
	for i := range 20 {
		if got := localValues(t, c, "n3", fmt.Sprintf("k%d", i)); !slices.Equal(got, []string{fmt.Sprintf("v%d", i)}) {
			t.Fatalf("n3 holds %q for k%d after handoff", got, i)
		}
	}
}

// Sloppy quorum: when a primary is down the write goes to the next node on
// the ring past the preference list, as a hint, and counts toward W.
func TestSloppyQuorumUsesTheNextNodeOnTheRing(t *testing.T) {
	c := clustertest.New(t, 4)
	r, err := ring.New(ring.Config{N: 3}, []string{"n1", "n2", "n3", "n4"})
	if err != nil {
		t.Fatal(err)
	}
	// A key whose preference list holds n1 and n3 but not n4.
	var key string
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("k%d", i)
		walk := r.Walk(r.PartitionOf(ring.KeyHash([]byte(k))))
		if slices.Contains(walk[:3], "n1") && slices.Contains(walk[:3], "n3") && walk[3] == "n4" {
			key = k
		}
	}
	c.Stop("n3")
	c.WaitUnhealthy("n1", "n3")
	res := mustPut(t, c.Client("n1"), key, "v", nil, 3)
	if got := hintedAcks(res); !slices.Equal(got, []string{"n4>n3"}) {
		t.Fatalf("hinted acks %v, want n4 holding a hint for n3", got)
	}
	if got := c.HintsFor("n4", "n3"); got != 1 {
		t.Fatalf("n4 holds %d hints for n3", got)
	}
	c.Restart("n3")
	c.Eventually(20*time.Second, "n3 receives the write from n4", func() bool {
		return slices.Equal(localValues(t, c, "n3", key), []string{"v"})
	})
}

// With two of three replicas down, w=1 succeeds on the coordinator with
// hints for both; w=2 is indeterminate; once both return, the w=1 value
// is on all three.
func TestTwoReplicasDownWriteOneIsHintedAndLaterEverywhere(t *testing.T) {
	c := clustertest.New(t, 3)
	c.Stop("n2")
	c.Stop("n3")
	c.WaitUnhealthy("n1", "n2")
	c.WaitUnhealthy("n1", "n3")
	res := mustPut(t, c.Client("n1"), "k", "one", nil, 1)
	if got := hintedAcks(res); !slices.Equal(got, []string{"n1>n2", "n1>n3"}) {
		t.Fatalf("w=1 hinted acks %v", got)
	}
	_, err := c.Client("n1").Put(ctxT(t), []byte("k2"), []byte("two"), nil, 2)
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "1 of 3 replicas acknowledged") ||
		!strings.Contains(err.Error(), "indeterminate") {
		t.Fatalf("w=2 with two down: %v", err)
	}
	c.Restart("n2")
	c.Restart("n3")
	for _, id := range []string{"n1", "n2", "n3"} {
		c.Eventually(20*time.Second, "k on "+id, func() bool {
			return slices.Equal(localValues(t, c, id, "k"), []string{"one"})
		})
	}
}

// Read repair: with hinted handoff off, a replica that missed a write is
// stale until a read that reaches it sends it the merge.
func TestReadRepairUpdatesAStaleReplica(t *testing.T) {
	c := clustertest.New(t, 3, func(cfg *node.Config) { cfg.DisableHintedHandoff = true })
	mustPut(t, c.Client("n1"), "k", "old", nil, 3)
	c.Stop("n3")
	c.WaitUnhealthy("n1", "n3")
	cur := mustGet(t, c.Client("n1"), "k", 2)
	mustPut(t, c.Client("n1"), "k", "new", cur.Context, 2)
	c.Restart("n3")
	c.WaitConverged()
	if got := localValues(t, c, "n3", "k"); !slices.Equal(got, []string{"old"}) {
		t.Fatalf("n3 holds %q before the read; want it stale", got)
	}
	if got := values(mustGet(t, c.Client("n1"), "k", 3)); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("get r=3 = %q", got)
	}
	c.Eventually(10*time.Second, "read repair reaches n3", func() bool {
		return slices.Equal(localValues(t, c, "n3", "k"), []string{"new"})
	})
}

// Hints past the per-target budget are refused and counted, not stored.
func TestHintBudgetIsEnforced(t *testing.T) {
	c := clustertest.New(t, 3, func(cfg *node.Config) { cfg.HintBudgetBytes = 600 })
	c.Stop("n3")
	c.WaitUnhealthy("n1", "n3")
	for i := range 20 {
		mustPut(t, c.Client("n1"), fmt.Sprintf("k%d", i), strings.Repeat("v", 100), nil, 2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Client("n1").Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := c.HintsFor("n1", "n3")
	if held == 0 || held >= 20 || st.GetHintsDropped() != 20-held {
		t.Fatalf("held %d hints, dropped %d; want some held and the rest dropped", held, st.GetHintsDropped())
	}
}

// Hints older than the window are dropped and counted, even while their
// target stays away.
func TestHintsPastTheWindowAreDropped(t *testing.T) {
	c := clustertest.New(t, 3, func(cfg *node.Config) { cfg.HintWindow = 300 * time.Millisecond })
	c.Stop("n3")
	c.WaitUnhealthy("n1", "n3")
	for i := range 5 {
		mustPut(t, c.Client("n1"), fmt.Sprintf("k%d", i), "v", nil, 2)
	}
	c.Eventually(10*time.Second, "expired hints dropped", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := c.Client("n1").Status(ctx)
		return err == nil && c.HintsFor("n1", "n3") == 0 && st.GetHintsDropped() == 5
	})
}
