package node_test

// These tests read like the Dynamo paper's claims, checked on a real
// in-process cluster: memberlist on loopback, Pebble on disk, Connect.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
	"github.com/ringkv/ringkv/ring"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/vclock"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, c *client.Client, key, value string, wctx []byte, w int) client.WriteResult {
	t.Helper()
	res, err := c.Put(ctxT(t), []byte(key), []byte(value), wctx, w)
	if err != nil {
		t.Fatalf("put %s=%s w=%d: %v", key, value, w, err)
	}
	return res
}

func mustGet(t *testing.T, c *client.Client, key string, r int) client.GetResult {
	t.Helper()
	res, err := c.Get(ctxT(t), []byte(key), r)
	if err != nil {
		t.Fatalf("get %s r=%d: %v", key, r, err)
	}
	return res
}

func values(res client.GetResult) []string {
	out := make([]string, len(res.Values))
	for i, v := range res.Values {
		out[i] = string(v)
	}
	slices.Sort(out)
	return out
}

func TestQuorumWriteThenReadThroughAnotherNode(t *testing.T) {
	c := clustertest.New(t, 3)
	res := mustPut(t, c.Client("n1"), "k", "v", nil, 3)
	if len(res.Acks) != 3 {
		t.Fatalf("w=3 acked by %v", res.Acks)
	}
	if got := values(mustGet(t, c.Client("n3"), "k", 3)); !slices.Equal(got, []string{"v"}) {
		t.Fatalf("get r=3 through n3 = %q, want [v]", got)
	}
	mustPut(t, c.Client("n2"), "k1", "one", nil, 1)
	// w=1 answers after the coordinator's own write; r=1 may ask a replica
	// that has not caught up yet, so poll.
	c.Eventually(5*time.Second, "r=1 sees the w=1 write", func() bool {
		return slices.Equal(values(mustGet(t, c.Client("n3"), "k1", 1)), []string{"one"})
	})
}

func TestConsistencyLevelsOutsideOneToNAreRefused(t *testing.T) {
	c := clustertest.New(t, 3)
	_, err := c.Client("n1").Put(ctxT(t), []byte("k"), []byte("v"), nil, 4)
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "w=4 is outside 1..3") {
		t.Fatalf("w=4: %v", err)
	}
	_, err = c.Client("n1").Get(ctxT(t), []byte("k"), 4)
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "r=4") {
		t.Fatalf("r=4: %v", err)
	}
	// Negative levels are refused as themselves, not wrapped around.
	_, err = c.Client("n1").Get(ctxT(t), []byte("k"), -1)
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "r=-1 is outside 1..N") {
		t.Fatalf("r=-1: %v", err)
	}
	_, err = c.Client("n1").Delete(ctxT(t), []byte("k"), nil, 1<<32+1)
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "w=4294967297 is outside 1..N") {
		t.Fatalf("w=2^32+1: %v", err)
	}
}

// Two writes from one stale context are both kept, whichever nodes
// coordinated them; a write with the context that saw both resolves them.
func TestConcurrentWritesBecomeSiblingsAndAResolvingWriteLeavesOne(t *testing.T) {
	c := clustertest.New(t, 3)
	mustPut(t, c.Client("n1"), "cart", "base", nil, 3)
	stale := mustGet(t, c.Client("n1"), "cart", 3).Context
	mustPut(t, c.Client("n1"), "cart", "apple", stale, 2)
	mustPut(t, c.Client("n2"), "cart", "pear", stale, 2)
	both := mustGet(t, c.Client("n3"), "cart", 3)
	if got := values(both); !slices.Equal(got, []string{"apple", "pear"}) {
		t.Fatalf("after two writes from one context: %q, want both siblings", got)
	}
	mustPut(t, c.Client("n3"), "cart", "apple+pear", both.Context, 3)
	if got := values(mustGet(t, c.Client("n1"), "cart", 3)); !slices.Equal(got, []string{"apple+pear"}) {
		t.Fatalf("after the resolving write: %q", got)
	}
}

func TestDeleteReadsAsNotFoundButKeepsAContext(t *testing.T) {
	c := clustertest.New(t, 3)
	mustPut(t, c.Client("n1"), "k", "v", nil, 3)
	got := mustGet(t, c.Client("n2"), "k", 2)
	if _, err := c.Client("n2").Delete(ctxT(t), []byte("k"), got.Context, 3); err != nil {
		t.Fatal(err)
	}
	after := mustGet(t, c.Client("n3"), "k", 3)
	if after.Found || len(after.Values) != 0 || len(after.Context) == 0 {
		t.Fatalf("after delete: found=%v values=%q context=%x", after.Found, after.Values, after.Context)
	}
}

func TestRestartKeepsEveryAcknowledgedWrite(t *testing.T) {
	c := clustertest.New(t, 3)
	want := map[string]string{}
	for i := range 50 {
		k, v := fmt.Sprintf("key-%d", i), fmt.Sprintf("value-%d", i)
		mustPut(t, c.Client(fmt.Sprintf("n%d", i%3+1)), k, v, nil, 2)
		want[k] = v
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		c.Stop(id)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		c.Restart(id)
	}
	c.WaitConverged()
	for k, v := range want {
		if got := values(mustGet(t, c.Client("n2"), k, 3)); !slices.Equal(got, []string{v}) {
			t.Fatalf("%s after restart = %q, want %q", k, got, v)
		}
	}
}

func TestWithOneNodeDownQuorumsOfTwoWorkAndThreeIsIndeterminate(t *testing.T) {
	c := clustertest.New(t, 3)
	mustPut(t, c.Client("n1"), "k", "v", nil, 3)
	c.Stop("n3")
	mustGet(t, c.Client("n1"), "k", 2)
	mustPut(t, c.Client("n1"), "k2", "v2", nil, 2)
	_, err := c.Client("n1").Put(ctxT(t), []byte("k3"), []byte("v3"), nil, 3)
	if connect.CodeOf(err) != connect.CodeUnavailable ||
		!strings.Contains(err.Error(), "2 of 3 replicas acknowledged") || !strings.Contains(err.Error(), "indeterminate") {
		t.Fatalf("w=3 with n3 down: %v", err)
	}
}

func TestLimitsAreRefusedClearlyAndTheNodeKeepsServing(t *testing.T) {
	c := clustertest.New(t, 3, func(cfg *node.Config) { cfg.MaxValueBytes = 1024; cfg.MaxSiblings = 2 })
	cl := c.Client("n1")
	for _, tc := range []struct {
		name string
		err  error
		code connect.Code
		says string
	}{
		{"3 KiB key", put(t, cl, strings.Repeat("k", 3072), "v", nil), connect.CodeInvalidArgument, "limit is 2048 bytes"},
		{"empty key", put(t, cl, "", "v", nil), connect.CodeInvalidArgument, "key is empty"},
		{"big value", put(t, cl, "k", strings.Repeat("v", 1025), nil), connect.CodeInvalidArgument, "--max-value-bytes"},
		{"garbage context", put(t, cl, "k", "v", []byte("garbage")), connect.CodeInvalidArgument, "context"},
	} {
		if connect.CodeOf(tc.err) != tc.code || !strings.Contains(tc.err.Error(), tc.says) {
			t.Errorf("%s: %v, want %v saying %q", tc.name, tc.err, tc.code, tc.says)
		}
	}
	// A forged context that would overflow the coordinator's counter.
	st, err := cl.Status(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	actor, err := strconv.ParseUint(st.GetActor(), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	forged := vclock.NewVV(vclock.Entry{Actor: vclock.Actor(actor), Counter: math.MaxUint64}).Encode()
	if err := put(t, cl, "k", "v", forged); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("forged context: %v", err)
	}
	mustPut(t, cl, "s", "a", nil, 3)
	mustPut(t, cl, "s", "b", nil, 3)
	err = put(t, cl, "s", "c", nil)
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "limit is 2") {
		t.Fatalf("third blind write with max 2 siblings: %v", err)
	}
	if got := values(mustGet(t, cl, "s", 3)); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("a refused write changed the key: %q", got)
	}
}

func put(t *testing.T, c *client.Client, k, v string, wctx []byte) error {
	_, err := c.Put(ctxT(t), []byte(k), []byte(v), wctx, 0)
	return err
}

// A node that is not a replica of a key forwards the write once to one
// that is; the acknowledgements come from the key's replicas.
func TestNonReplicaForwardsWritesToAReplica(t *testing.T) {
	c := clustertest.New(t, 4)
	r, err := ring.New(ring.Config{N: 3}, []string{"n1", "n2", "n3", "n4"})
	if err != nil {
		t.Fatal(err)
	}
	key, outsider := keyWithOutsider(t, r)
	prefs := r.Preference(r.PartitionOf(ring.KeyHash([]byte(key))))
	res := mustPut(t, c.Client(outsider), key, "v", nil, 3)
	for _, a := range res.Acks {
		if !slices.Contains(prefs, a.Node) {
			t.Fatalf("ack from %s, which is not a replica of %s (%v)", a.Node, key, prefs)
		}
	}
	if got := mustGet(t, c.Client(outsider), key, 3); !bytes.Equal(got.Values[0], []byte("v")) {
		t.Fatalf("read back %q", got.Values)
	}
}

func keyWithOutsider(t *testing.T, r *ring.Ring) (string, string) {
	for i := range 1000 {
		key := fmt.Sprintf("k%d", i)
		prefs := r.Preference(r.PartitionOf(ring.KeyHash([]byte(key))))
		for _, id := range r.Members() {
			if !slices.Contains(prefs, id) {
				return key, id
			}
		}
	}
	t.Fatal("every key is on every node")
	return "", ""
}

func TestADataDirectoryRefusesOtherClusterSettings(t *testing.T) {
	dir := t.TempDir()
	c := clustertest.New(t, 1, func(cfg *node.Config) { cfg.Dir = dir })
	c.Stop("n1")
	_, err := node.New(node.Config{ID: "n1", Dir: dir, Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 3}, node.Deps{})
	if !errors.Is(err, storage.ErrSettingsChanged) || !strings.Contains(err.Error(), "n=1") || !strings.Contains(err.Error(), "n=3") {
		t.Fatalf("reopen with n=3: %v", err)
	}
}
