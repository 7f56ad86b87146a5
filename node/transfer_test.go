package node_test

// Partition transfers between real nodes over the wire (issue 12): a
// donor's Manager streams a partition through the receiver's
// TransferService, on real Connect servers on loopback and real Pebble,
// through kills of either side and a network partition.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
	"github.com/ringkv/ringkv/transfers"
	"github.com/ringkv/ringkv/vclock"
)

// The shape of every transfer test: 2 nodes, one replica per key (so the
// receiver holds nothing of the partition it is sent), 16 partitions, and
// small paced batches so that a transfer of xferKeys keys takes a few
// seconds and can be interrupted in the middle.
const (
	xferPartitions = 16
	xferKeys       = 240
	xferBatchBytes = 4 << 10
)

func xferConfig(cfg *node.Config) {
	cfg.N, cfg.Partitions = 1, xferPartitions
	cfg.DisableAntiEntropy = true
	cfg.Transfers = transfers.Config{Rate: 16 << 10, BatchKeys: 16, BatchBytes: xferBatchBytes,
		CallTimeout: 2 * time.Second, RetryBase: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond}
}

// xfer is one transfer under test: partition p, its keys, from the node
// that holds them to the other.
type xfer struct {
	c    *clustertest.Cluster
	id   transfers.ID
	keys [][]byte
}

// newXfer writes xferKeys keys of one partition (a few of them deleted
// again, so tombstones move too) and names the transfer of that partition
// from the node holding it to the other.
func newXfer(t *testing.T, c *clustertest.Cluster) *xfer {
	t.Helper()
	x := &xfer{c: c, keys: keysOfPartition(3, xferKeys)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	value := bytes.Repeat([]byte("v"), 200)
	for i, k := range x.keys {
		res, err := c.Client("n1").Put(ctx, k, value, nil, 0)
		if err == nil && i%10 == 0 {
			_, err = c.Client("n1").Delete(ctx, k, res.Context, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	x.id = transfers.ID{Partition: 3, From: "n1", To: "n2", Epoch: 1}
	if local(t, c.Client("n2"), x.keys[1]).Found {
		x.id.From, x.id.To = "n2", "n1"
	}
	return x
}

// keysOfPartition returns n keys that hash into partition p.
func keysOfPartition(p, n int) [][]byte { return clustertest.KeysOfPartition(xferPartitions, p, n) }

func local(t *testing.T, c *client.Client, key []byte) client.GetResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.GetLocal(ctx, key)
	if err != nil {
		t.Fatalf("local get of %s: %v", key, err)
	}
	return res
}

func (x *xfer) donor() *node.Node    { return x.c.Node(x.id.From) }
func (x *xfer) receiver() *node.Node { return x.c.Node(x.id.To) }

func (x *xfer) start(t *testing.T) {
	t.Helper()
	if err := x.donor().StartTransfer(x.id); err != nil {
		t.Fatal(err)
	}
}

// received is the receiver's progress of the transfer (zero: none yet).
func (x *xfer) received() node.TransferStatus {
	for _, s := range x.receiver().Transfers() {
		if s.Role == node.RoleReceive && s.ID == x.id {
			return s
		}
	}
	return node.TransferStatus{}
}

// sending is the donor's progress of the transfer, if it runs.
func (x *xfer) sending() (node.TransferStatus, bool) {
	for _, s := range x.donor().Transfers() {
		if s.Role == node.RoleSend && s.ID == x.id {
			return s, true
		}
	}
	return node.TransferStatus{}, false
}

func (x *xfer) waitReceived(t *testing.T, keys int64) {
	t.Helper()
	x.c.Eventually(30*time.Second, fmt.Sprintf("%v: %d keys applied", x.id, keys), func() bool { return x.received().Keys >= keys })
}

func (x *xfer) waitDone(t *testing.T) {
	t.Helper()
	x.c.Eventually(60*time.Second, fmt.Sprintf("%v done", x.id), func() bool {
		_, running := x.sending()
		return !running && x.donor().TransferTotals().SentDone > 0
	})
}

// checkCopied fails unless the receiver holds every key exactly as the
// donor does: the same values, or the same tombstone, under the same
// causal context.
func (x *xfer) checkCopied(t *testing.T) {
	t.Helper()
	from, to := x.c.Client(x.id.From), x.c.Client(x.id.To)
	for _, k := range x.keys {
		want, got := local(t, from, k), local(t, to, k)
		if got.Found != want.Found || !bytes.Equal(got.Context, want.Context) || len(got.Values) != len(want.Values) {
			t.Fatalf("%s on %s: found %v, %d values, context %x; the donor has found %v, %d values, context %x",
				k, x.id.To, got.Found, len(got.Values), got.Context, want.Found, len(want.Values), want.Context)
		}
	}
}

// A transfer over the wire copies every key of the partition, tombstones
// included, exactly as the donor holds it, and merges: a write that
// reached the receiver directly is kept beside the donor's.
func TestTransferCopiesAPartitionOverTheWireByMerging(t *testing.T) {
	c := clustertest.New(t, 2, xferConfig)
	x := newXfer(t, c)
	direct := vclock.Update(vclock.Set{}, vclock.VV{}, vclock.Actor(0xd1ec7), []byte("direct"), false)
	replica := ringkvv1connect.NewReplicaServiceClient(http.DefaultClient, "http://"+x.receiver().Addr())
	if _, err := replica.Write(context.Background(), connect.NewRequest(&ringkvv1.WriteRequest{Key: x.keys[1], Set: direct.Encode()})); err != nil {
		t.Fatal(err)
	}
	x.start(t)
	x.waitDone(t)

	if got := local(t, c.Client(x.id.To), x.keys[1]); len(got.Values) != 2 {
		t.Fatalf("%s on the receiver has %d values %q; want the donor's and the direct write", x.keys[1], len(got.Values), got.Values)
	}
	x.keys = append(x.keys[:1], x.keys[2:]...)
	x.checkCopied(t)
	r := x.received()
	if r.State != node.ReceivedDone || r.Keys != xferKeys || r.Fraction != 1 {
		t.Fatalf("the receiver reports %+v; want done with %d keys", r, xferKeys)
	}
	if tot := x.receiver().TransferTotals(); tot.KeysReceived != xferKeys || tot.RecvDone != 1 || tot.Receiving != 0 {
		t.Fatalf("the receiver's totals %+v; want %d keys in one finished transfer", tot, xferKeys)
	}
	checkTransferMetrics(t, x)

	// Once the partition settled, the receiver forgets the copy: its
	// cursor and its progress go, and the same transfer would start over.
	if err := x.receiver().ForgetTransfer(x.id); err != nil {
		t.Fatal(err)
	}
	resp, err := transferClient(x.receiver()).Cursor(context.Background(),
		connect.NewRequest(&ringkvv1.TransferCursorRequest{Id: &ringkvv1.TransferID{Partition: 3, From: x.id.From, To: x.id.To, Epoch: 1}}))
	if err != nil || resp.Msg.GetCursor().GetDone() || len(resp.Msg.GetCursor().GetAfter()) != 0 || x.received().Keys != 0 {
		t.Fatalf("after ForgetTransfer the cursor is %v (%v) and the progress %+v; want both gone", resp.Msg.GetCursor(), err, x.received())
	}
}

// checkTransferMetrics checks /metrics on both nodes after x finished.
func checkTransferMetrics(t *testing.T, x *xfer) {
	t.Helper()
	from, to := x.donor().Addr(), x.receiver().Addr()
	if sent := scrape(t, from, "ringkv_transfer_bytes_sent_total"); sent != float64(x.donor().TransferTotals().BytesSent) || sent <= 0 {
		t.Errorf("ringkv_transfer_bytes_sent_total on the donor is %v", sent)
	}
	for _, m := range []struct {
		addr, sample string
		want         float64
	}{
		{from, `ringkv_transfers_completed_total{role="send"}`, 1},
		{from, `ringkv_transfers_in_progress{role="send"}`, 0},
		{to, `ringkv_transfers_completed_total{role="receive"}`, 1},
		{to, `ringkv_transfer_keys_applied_total`, xferKeys},
		{to, `ringkv_transfers_in_progress{role="receive"}`, 0},
	} {
		if got := scrape(t, m.addr, m.sample); got != m.want {
			t.Errorf("%s is %v; want %v", m.sample, got, m.want)
		}
	}
}

// A donor killed in the middle of a transfer and restarted resumes from
// the receiver's cursor: in total it sends the partition about once (at
// most the batches in flight again), not once and then again from zero.
func TestTransferResumesAfterTheDonorCrashes(t *testing.T) {
	c := clustertest.NewCrashable(t, 2, xferConfig)
	x := newXfer(t, c)
	x.start(t)
	x.waitReceived(t, xferKeys/2)
	old := x.donor()
	c.Crash(x.id.From)
	sentBefore := old.TransferTotals().BytesSent
	if x.received().Keys >= xferKeys {
		t.Fatal("the transfer finished before the donor crashed: the test needs a slower rate")
	}
	c.Restart(x.id.From)
	x.start(t)
	x.waitDone(t)

	x.checkCopied(t)
	stream := x.receiver().TransferTotals().BytesReceived
	sent := sentBefore + x.donor().TransferTotals().BytesSent
	t.Logf("partition stream %d bytes; sent %d before the crash and %d in all", stream, sentBefore, sent)
	if sent > stream+3*xferBatchBytes || sent >= 2*stream {
		t.Fatalf("the donors sent %d bytes for a %d-byte stream: more than the stream and the batches in flight", sent, stream)
	}
}

// A receiver killed in the middle of a transfer (it keeps only what it
// synced) and restarted loses nothing and is not sent the partition from
// zero: after its restart it applies only what it had not.
func TestTransferResumesAfterTheReceiverCrashes(t *testing.T) {
	c := clustertest.NewCrashable(t, 2, xferConfig)
	x := newXfer(t, c)
	x.start(t)
	x.waitReceived(t, xferKeys/2)
	before := x.received().Keys
	c.Crash(x.id.To)
	c.Restart(x.id.To)
	x.waitDone(t)

	x.checkCopied(t)
	after := x.received().Keys
	t.Logf("%d keys applied before the crash, %d after the restart", before, after)
	if after >= xferKeys || after > xferKeys-before+16 {
		t.Fatalf("the restarted receiver applied %d keys of %d after %d before its crash: the transfer started over", after, xferKeys, before)
	}
}

// A network partition between donor and receiver stalls the transfer (the
// donor retries, nothing more is applied) and the heal resumes it.
func TestTransferStallsInAPartitionAndResumesAfterTheHeal(t *testing.T) {
	c := clustertest.New(t, 2, xferConfig)
	x := newXfer(t, c)
	x.start(t)
	x.waitReceived(t, xferKeys/4)
	c.Partition(x.id.From, x.id.To)
	attempts := func(n int) func() bool {
		return func() bool { s, ok := x.sending(); return ok && s.State == transfers.Retrying && s.Attempts >= n }
	}
	c.Eventually(10*time.Second, "the donor retries", attempts(1))
	stalled := x.received().Keys
	c.Eventually(10*time.Second, "the donor retries twice more", attempts(3))
	if now := x.received().Keys; now != stalled || now >= xferKeys {
		t.Fatalf("the receiver applied %d keys, then %d while cut off from the donor", stalled, now)
	}
	if s, _ := x.sending(); s.LastErr == "" {
		t.Fatalf("the donor's progress %+v names no error", s)
	}
	c.Heal()
	x.waitDone(t)
	x.checkCopied(t)
	if f := x.donor().TransferTotals().FailedAttempts; f < 3 {
		t.Fatalf("the donor counts %d failed attempts; it retried at least 3 times", f)
	}
}
