package node_test

// Issue 10, defect 4: only a key's replicas count toward W. A node that is
// not one of them forwards a write once to a live replica and never
// coordinates it itself, whatever a peer asks of it.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
	"github.com/ringkv/ringkv/ring"
)

// outsiderOf picks a key and a node of c's n members that is not one of
// its N=3 replicas.
func outsiderOf(t *testing.T, n int) (key, outsider string, prefs []string) {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%d", i+1)
	}
	r, err := ring.New(ring.Config{N: 3}, ids)
	if err != nil {
		t.Fatal(err)
	}
	key, outsider = keyWithOutsider(t, r)
	return key, outsider, r.Preference(r.PartitionOf(ring.KeyHash([]byte(key))))
}

// coordinateAt asks node id to coordinate a write, as a forwarding peer
// (whose view of the ring may differ) would.
func coordinateAt(t *testing.T, c *clustertest.Cluster, id, key string, w uint32) (*ringkvv1.CoordinateResponse, error) {
	t.Helper()
	resp, err := peerClient(t, c.Addr(id)).Coordinate(ctxT(t), connect.NewRequest(&ringkvv1.CoordinateRequest{
		Key: []byte(key), Value: []byte("v"), W: w,
	}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// With every replica of a key down, a write through a node that is not a
// replica fails, even at W=1: that node's own copy would sit where
// anti-entropy never looks for the key's partition.
func TestWithEveryReplicaDownANonReplicaDoesNotAcknowledgeAWrite(t *testing.T) {
	c := clustertest.New(t, 4)
	key, outsider, prefs := outsiderOf(t, 4)
	for _, p := range prefs {
		c.Stop(p)
	}
	for _, p := range prefs {
		c.WaitUnhealthy(outsider, p)
	}
	_, err := c.Client(outsider).Put(ctxT(t), []byte(key), []byte("v"), nil, 1)
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "no live replica") {
		t.Fatalf("put w=1 through %s with every replica (%v) down: %v, want Unavailable: no live replica", outsider, prefs, err)
	}
	// A peer whose view still names this node a replica asks it to
	// coordinate: it refuses rather than count itself.
	resp, err := coordinateAt(t, c, outsider, key, 1)
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "not a replica") {
		t.Fatalf("coordinate w=1 at %s, no replica of %s (%v): acks %v, err %v; want FailedPrecondition", outsider, key, prefs, resp.GetAcks(), err)
	}
	if got := localValues(t, c, outsider, key); len(got) != 0 {
		t.Fatalf("%s, no replica of %s, stored %q", outsider, key, got)
	}
}

// A write through a non-replica is coordinated by a replica: it lands on
// the key's replicas, and the node that received it keeps no copy.
func TestAForwardedWriteLandsOnTheReplicas(t *testing.T) {
	c := clustertest.New(t, 4)
	key, outsider, prefs := outsiderOf(t, 4)
	res := mustPut(t, c.Client(outsider), key, "v", nil, 3)
	for _, a := range res.Acks {
		if !slices.Contains(prefs, a.Node) || a.HintFor != "" {
			t.Fatalf("forwarded write acked by %v, want only the replicas %v", res.Acks, prefs)
		}
	}
	for _, p := range prefs {
		if got := localValues(t, c, p, key); !slices.Equal(got, []string{"v"}) {
			t.Fatalf("replica %s holds %q after a w=3 write forwarded by %s", p, got, outsider)
		}
	}
	// The refusal is marked, so a forwarder knows nothing was stored and
	// may try another replica.
	_, err := coordinateAt(t, c, outsider, key, 1)
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeFailedPrecondition || ce.Meta().Get("Ringkv-Not-Replica") == "" {
		t.Fatalf("coordinate at %s, no replica of %s: %v, want FailedPrecondition marked Ringkv-Not-Replica", outsider, key, err)
	}
	if got := localValues(t, c, outsider, key); len(got) != 0 {
		t.Fatalf("%s, no replica of %s, stored %q", outsider, key, got)
	}
}

// R and W are checked against the replicas the ring has for the key
// (min(N, members)), not N: with two nodes and N=3, W=3 is refused at once
// instead of running a write that cannot meet it.
func TestLevelsAreCheckedAgainstTheReplicasTheRingHas(t *testing.T) {
	c := clustertest.New(t, 2, func(cfg *node.Config) { cfg.N = 3 })
	_, err := c.Client("n1").Put(ctxT(t), []byte("k"), []byte("v"), nil, 3)
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "w=3 is outside 1..2") ||
		!strings.Contains(err.Error(), "2 replicas") {
		t.Fatalf("w=3 with 2 nodes and n=3: %v, want InvalidArgument naming the 2 replicas", err)
	}
	_, err = c.Client("n2").Get(ctxT(t), []byte("k"), 3)
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "r=3 is outside 1..2") {
		t.Fatalf("r=3 with 2 nodes and n=3: %v, want InvalidArgument", err)
	}
	if got := localValues(t, c, "n1", "k"); len(got) != 0 {
		t.Fatalf("a refused w=3 stored %q", got)
	}
	if res := mustPut(t, c.Client("n1"), "k", "v", nil, 0); len(res.Acks) != 2 {
		t.Fatalf("default w with 2 replicas acked by %v, want both", res.Acks)
	}
}
