package node_test

// The agreed ring (package membership) on running nodes: every node routes
// by the same ring, whoever gossip has told it of.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/node"
	"github.com/ringkv/ringkv/ring"
)

// agreedRing returns node id's agreed ring, as AdminService.Ring gives it.
func agreedRing(t *testing.T, c *clustertest.Cluster, id string) membership.State {
	t.Helper()
	resp, err := c.Client(id).Ring(ctxT(t))
	if err != nil {
		t.Fatalf("ring of %s: %v", id, err)
	}
	cfg := ring.Config{Partitions: int(resp.GetPartitions()), VNodes: int(resp.GetVnodes()), N: int(resp.GetN())}
	s, err := membership.Unmarshal(cfg, resp.GetState())
	if err != nil {
		t.Fatalf("ring of %s: %v", id, err)
	}
	return s
}

// preferenceLists prints every partition's owners and pending owners.
func preferenceLists(s membership.State) string {
	out := ""
	for p := range s.Partitions() {
		out += fmt.Sprintf("%d %v %v\n", p, s.Owners(p), s.Pending(p))
	}
	return out
}

// waitSameRing waits until every node in ids holds the same ring, with
// every member of want in it, and returns that ring.
func waitSameRing(t *testing.T, c *clustertest.Cluster, ids []string, want ...string) membership.State {
	t.Helper()
	var s membership.State
	c.Eventually(20*time.Second, fmt.Sprintf("%v to agree on a ring with %v", ids, want), func() bool {
		s = agreedRing(t, c, ids[0])
		for _, id := range want {
			if _, ok := s.Status(id); !ok {
				return false
			}
		}
		for _, id := range ids[1:] {
			if agreedRing(t, c, id).Digest() != s.Digest() {
				return false
			}
		}
		return true
	})
	// Equal digests mean equal states; compare what routing uses anyway.
	for _, id := range ids[1:] {
		if got := preferenceLists(agreedRing(t, c, id)); got != preferenceLists(s) {
			t.Fatalf("%s routes differently from %s with the same digest", id, ids[0])
		}
	}
	return s
}

func smallRing(cfg *node.Config) { cfg.Partitions = 64 }

// Done-when 1 of the elastic-membership issue: a node that joins while
// another member is down computes the same preference lists (owners and
// pending owners of every partition) as every other node, and keeps them
// when the down member returns. Before the agreed ring, the joiner built
// its ring from the members gossip told it of, without the down one, and
// placed most partitions differently.
func TestJoinWhileAMemberIsDownAgreesOnPreferenceLists(t *testing.T) {
	c := clustertest.New(t, 3, smallRing)
	c.Stop("n3")
	c.Join("n4")
	s := waitSameRing(t, c, []string{"n1", "n2", "n4"}, "n4")
	if st, _ := s.Status("n3"); st != membership.Active {
		t.Fatalf("down member n3 is %v in the ring, want active: an outage is not a departure", st)
	}
	var n3Owns, n4Pending int
	for p := range s.Partitions() {
		if slices.Contains(s.Owners(p), "n4") {
			t.Fatalf("joiner n4 owns partition %d before any transfer", p)
		}
		if slices.Contains(s.Owners(p), "n3") {
			n3Owns++
		}
		if slices.Contains(s.Pending(p), "n4") {
			n4Pending++
		}
	}
	if n3Owns != s.Partitions() || n4Pending == 0 {
		t.Fatalf("n3 owns %d of %d partitions (want all: N=3 of 3 founders), n4 pending for %d (want some)", n3Owns, s.Partitions(), n4Pending)
	}
	c.Restart("n3")
	again := waitSameRing(t, c, []string{"n1", "n2", "n3", "n4"}, "n4")
	if again.Digest() != s.Digest() {
		t.Fatalf("the ring changed when n3 returned:\n%v\nthen\n%v", s, again)
	}
}

// Two nodes that join at the same time, through different nodes, both end
// up in the ring every node holds: the merge keeps concurrent joins.
func TestConcurrentJoinsBothSurvive(t *testing.T) {
	c := clustertest.New(t, 3, smallRing)
	c.JoinTogether("n4", "n5")
	s := waitSameRing(t, c, []string{"n1", "n2", "n3", "n4", "n5"}, "n4", "n5")
	for _, m := range s.Members() {
		if m.Status != membership.Active {
			t.Fatalf("%s is %v, want every member active", m.ID, m.Status)
		}
	}
	// Data does not move yet: the joiners stay pending. Requests through
	// them still work, served by the owners, and a pending owner of the
	// key receives the write too.
	for i := range 20 {
		key := fmt.Sprintf("k%d", i)
		// Quorum levels, not all three: on a loaded machine one owner may
		// be slow to answer, which is not what this test is about.
		mustPut(t, c.Client("n4"), key, "v", nil, 2)
		if got := values(mustGet(t, c.Client("n5"), key, 2)); !slices.Equal(got, []string{"v"}) {
			t.Fatalf("get %s through joiner n5 = %v, want [v]", key, got)
		}
		for _, id := range s.Pending(s.PartitionOf(ring.KeyHash([]byte(key)))) {
			c.Eventually(5*time.Second, "pending owner "+id+" to hold "+key, func() bool {
				return slices.Equal(localValues(t, c, id, key), []string{"v"})
			})
		}
	}
}

// A restarted node routes by the ring it stored, even with every peer
// down: the ring is persisted before the node acts on it.
func TestRestartedNodeKeepsItsStoredRing(t *testing.T) {
	c := clustertest.New(t, 3, smallRing, func(cfg *node.Config) { cfg.JoinTimeout = time.Second })
	c.Join("n4")
	before := waitSameRing(t, c, []string{"n1", "n2", "n3", "n4"}, "n4")
	for _, id := range []string{"n4", "n1", "n2", "n3"} {
		c.Stop(id)
	}
	c.Restart("n4")
	if got := agreedRing(t, c, "n4"); got.Digest() != before.Digest() {
		t.Fatalf("n4 restarted alone with ring %v, want its stored %v", got, before)
	}
}

// A new node that has no ring and reaches no peer within JoinTimeout does
// not start: it has nothing to route by, and founding a cluster of its own
// would split the cluster it was meant to join.
func TestNewNodeWithUnreachableSeedsRefusesToStart(t *testing.T) {
	cfg := node.Config{ID: "n9", Dir: t.TempDir(), Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 1, Partitions: 16,
		Seeds: []string{"127.0.0.1:1"}, JoinTimeout: 300 * time.Millisecond}
	n, err := node.New(cfg, node.Deps{})
	if err == nil {
		n.Close(context.Background())
	}
	if !errors.Is(err, node.ErrNoRing) {
		t.Fatalf("start with unreachable seeds: %v, want ErrNoRing", err)
	}
}

// A node named neither in --initial-members nor given seeds has no cluster
// to found or join: a clear configuration error, before anything starts.
func TestNodeOutsideTheFoundersWithoutSeedsIsRefused(t *testing.T) {
	cfg := node.Config{ID: "n9", Dir: t.TempDir(), Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 1, Partitions: 16,
		InitialMembers: []string{"n1", "n2"}}
	n, err := node.New(cfg, node.Deps{})
	if err == nil {
		n.Close(context.Background())
	}
	if !errors.Is(err, node.ErrInvalidConfig) || !strings.Contains(err.Error(), "--initial-members") {
		t.Fatalf("start outside the founders, no seeds: %v; want ErrInvalidConfig naming --initial-members", err)
	}
}

// A founder stores the founding ring before it serves: restarted without
// --initial-members, it still routes by the ring it founded.
func TestFounderStoresTheFoundingRing(t *testing.T) {
	cfg := node.Config{ID: "n1", Dir: t.TempDir(), Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 2, Partitions: 16,
		InitialMembers: []string{"n1", "n2"}}
	digest := func() uint64 {
		n, err := node.New(cfg, node.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close(context.Background())
		c := client.New(n.Addr())
		defer c.Close()
		resp, err := c.Ring(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetDigest()
	}
	founded := digest()
	cfg.InitialMembers = nil // alone, with no seeds, it would found a one-node cluster
	if again := digest(); again != founded {
		t.Fatalf("restarted founder's ring digest %016x, want the founded %016x", again, founded)
	}
}
