package node_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/internal/testwait"
	"github.com/ringkv/ringkv/node"

	"github.com/ringkv/ringkv/internal/faults"
	"github.com/ringkv/ringkv/storage"
)

// Issue 10, defect 8: a node on a filling disk panicked on a WAL write,
// and restarted on the full disk never served. A node must refuse writes
// before its disk is full, keep serving reads, and start on a full disk.

const (
	diskReserve = 4 << 20
	diskBallast = 1 << 20
)

// startOnDisk starts a one-node cluster whose data lives on fs.
func startOnDisk(t *testing.T, fs *faults.Disk) (*node.Node, *client.Client) {
	t.Helper()
	cfg := node.Config{ID: "n1", Dir: "/n1", Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 1, Partitions: 16,
		DiskReserveBytes: diskReserve, DiskBallastBytes: diskBallast}
	started := make(chan struct{})
	var n *node.Node
	var err error
	go func() {
		defer close(started)
		n, err = node.New(cfg, node.Deps{FS: fs})
	}()
	testwait.Until(t, 60*time.Second, "node starts", func() bool {
		select {
		case <-started:
			return true
		default:
			return false
		}
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	c := client.New(n.Addr())
	t.Cleanup(func() {
		c.Close()
		n.Close(context.Background())
	})
	return n, c
}

func putValue(c *client.Client, key string, value []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Put(ctx, []byte(key), value, nil, 0)
	return err
}

func status(t *testing.T, c *client.Client) storage.DiskStatus {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	d := st.GetDisk()
	return storage.DiskStatus{Probed: d.GetProbed(), Free: d.GetFreeBytes(), Reserve: d.GetReserveBytes(),
		Ballast: d.GetBallastBytes(), Full: d.GetFull(), Refused: d.GetWritesRefused()}
}

// fillUntilRefused writes values until the node refuses them, and still
// does after its next probe of free space, and returns the keys it
// acknowledged and the refusal. (Near the reserve a probe may find a
// little more room than the node counted, from files Pebble deleted, and
// let a write or two more in.)
func fillUntilRefused(t *testing.T, fs *faults.Disk, c *client.Client, value []byte) (map[string]bool, error) {
	t.Helper()
	acked := map[string]bool{}
	for i := range 10000 {
		key := fmt.Sprintf("k%05d", i)
		probes := fs.Probes.Load()
		err := putValue(c, key, value)
		if err == nil {
			acked[key] = true
			continue
		}
		if connect.CodeOf(err) != connect.CodeResourceExhausted {
			return acked, err
		}
		testwait.Until(t, 10*time.Second, "a probe after the refusal", func() bool { return fs.Probes.Load() > probes })
		if status(t, c).Full {
			return acked, err
		}
	}
	t.Fatal("10000 writes and the node never refused them")
	return nil, nil
}

func readsBack(t *testing.T, c *client.Client, keys map[string]bool, value []byte) {
	t.Helper()
	for key := range keys {
		res, err := c.Get(context.Background(), []byte(key), 0)
		if err != nil || !res.Found || len(res.Values) != 1 || string(res.Values[0]) != string(value) {
			t.Fatalf("acknowledged %s reads back %v, %d values: %v", key, res.Found, len(res.Values), err)
		}
	}
}

func metric(t *testing.T, addr, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no metric %s", name)
	return ""
}

func TestAFillingDiskRefusesWritesBeforeItIsFull(t *testing.T) {
	fs := faults.NewDisk(16 << 20)
	n, c := startOnDisk(t, fs)
	value := make([]byte, 16<<10)
	acked, err := fillUntilRefused(t, fs, c, value)
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "disk nearly full") ||
		!strings.Contains(err.Error(), "bytes free, reserve") {
		t.Fatalf("after %d writes: %v; want ResourceExhausted, disk nearly full", len(acked), err)
	}
	if got := fs.ENOSPC.Load(); got != 0 {
		t.Fatalf("the filesystem refused %d writes: the node let its disk fill", got)
	}
	// Free space is read by a probe loop, not per write.
	if p := fs.Probes.Load(); p > int64(len(acked))/4 {
		t.Errorf("%d free-space probes for %d writes", p, len(acked))
	}
	readsBack(t, c, acked, value)
	d := status(t, c)
	if !d.Probed || !d.Full || d.Refused == 0 || d.Free >= d.Reserve || d.Ballast != diskBallast {
		t.Fatalf("status while refusing writes: %+v", d)
	}
	if v := metric(t, n.Addr(), "ringkv_disk_full"); v != "1" {
		t.Fatalf("ringkv_disk_full %s", v)
	}
	// Space is freed (the operator grew the volume): writes resume.
	fs.Fill(-8 << 20)
	testwait.Until(t, 30*time.Second, "writes accepted again", func() bool { return putValue(c, "after", value) == nil })
	if d := status(t, c); d.Full {
		t.Fatalf("status after space was freed: %+v", d)
	}
	if v := metric(t, n.Addr(), "ringkv_disk_full"); v != "0" {
		t.Fatalf("ringkv_disk_full %s", v)
	}
}

func TestANodeRestartedOnAFullDiskReleasesItsBallastAndServesReads(t *testing.T) {
	fs := faults.NewDisk(16 << 20)
	value := []byte("v")
	keys := map[string]bool{}
	n, c := startOnDisk(t, fs)
	for i := range 50 {
		key := fmt.Sprintf("k%d", i)
		if err := putValue(c, key, value); err != nil {
			t.Fatal(err)
		}
		keys[key] = true
	}
	if d := status(t, c); d.Ballast != diskBallast || d.Full {
		t.Fatalf("status of a node with room: %+v", d)
	}
	c.Close()
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Something else fills the disk while the node is down.
	fs.FillUp()

	_, c = startOnDisk(t, fs)
	d := status(t, c)
	if d.Ballast != 0 || !d.Full || d.Reserve != diskReserve+diskBallast {
		t.Fatalf("status after a start on a full disk: %+v", d)
	}
	readsBack(t, c, keys, value)
	if err := putValue(c, "k0", value); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("write on a full disk: %v", err)
	}
	// The other program lets go: the ballast is re-created, writes resume.
	fs.Fill(-fs.Capacity)
	testwait.Until(t, 30*time.Second, "writes accepted again", func() bool { return putValue(c, "k0", value) == nil })
	if d := status(t, c); d.Ballast != diskBallast || d.Full {
		t.Fatalf("status after space was freed: %+v", d)
	}
	if got := fs.ENOSPC.Load(); got != 0 {
		t.Fatalf("the filesystem refused %d writes", got)
	}
}

func TestAReplicaWithAFullDiskRefusesPeersWritesAndTheyAreHintedElsewhere(t *testing.T) {
	// n2's reserve is more than any disk has: its disk is "nearly full".
	c := clustertest.New(t, 4, func(cfg *node.Config) {
		if cfg.ID == "n2" {
			cfg.DiskReserveBytes = 1 << 60
		}
	})
	ctx := context.Background()
	for i := range 200 {
		key := []byte(fmt.Sprintf("k%d", i))
		res, err := c.Client("n1").Put(ctx, key, []byte("v"), nil, 3)
		if connect.CodeOf(err) == connect.CodeResourceExhausted {
			continue // n2 coordinated it: a full coordinator refuses
		}
		if err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		for _, a := range res.Acks {
			if a.HintFor == "n2" && a.Node != "n2" {
				st, err := c.Client("n2").Status(ctx)
				if err != nil || !st.GetDisk().GetFull() || st.GetDisk().GetWritesRefused() == 0 {
					t.Fatalf("n2's status: %v %v", st.GetDisk(), err)
				}
				if _, err := c.Client("n2").GetLocal(ctx, key); err != nil {
					t.Fatalf("n2 serves reads: %v", err)
				}
				return
			}
			if a.Node == "n2" {
				t.Fatalf("n2 acknowledged a write of %s with its disk full", key)
			}
		}
	}
	t.Fatal("no write had n2 as a replica")
}

func TestCloseReturnsWhenStorageHangs(t *testing.T) {
	fs := faults.NewDisk(1 << 30)
	n, c := startOnDisk(t, fs)
	t.Cleanup(fs.Release) // before the node's cleanup, should the test fail
	if err := putValue(c, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	fs.Hang() // the disk stops answering syncs
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c.Put(ctx, []byte("k"), []byte("w"), nil, 1)
	}()
	testwait.Until(t, 30*time.Second, "a write waits on the hung disk", func() bool { return fs.Blocked.Load() > 0 })

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		closed <- n.Close(ctx)
	}()
	var err error
	testwait.Until(t, 30*time.Second, "Close returns", func() bool {
		select {
		case err = <-closed:
			return true
		default:
			return false
		}
	})
	fs.Release()
	if !errors.Is(err, node.ErrCloseTimeout) {
		t.Fatalf("Close with storage hung: %v", err)
	}
	// Once the disk answers, the shutdown left in the background ends.
	if err := n.Close(context.Background()); err != nil && !errors.Is(err, storage.ErrClosed) {
		t.Logf("close after release: %v", err)
	}
}

func TestANodeWhoseDiskAnotherProgramFillsReleasesItsBallastAndServesReads(t *testing.T) {
	fs := faults.NewDisk(16 << 20)
	_, c := startOnDisk(t, fs)
	if err := putValue(c, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	fs.FillUp()
	testwait.Until(t, 30*time.Second, "the ballast released", func() bool {
		d := status(t, c)
		return d.Ballast == 0 && d.Full
	})
	readsBack(t, c, map[string]bool{"k": true}, []byte("v"))
	if err := putValue(c, "k", []byte("w")); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("write on a full disk: %v", err)
	}
	fs.Fill(-fs.Capacity)
	testwait.Until(t, 30*time.Second, "writes accepted again", func() bool { return putValue(c, "k2", []byte("v")) == nil })
	if d := status(t, c); d.Ballast != diskBallast {
		t.Fatalf("status after space was freed: %+v", d)
	}
	if got := fs.ENOSPC.Load(); got != 0 {
		t.Fatalf("the filesystem refused %d writes", got)
	}
}

// startNode starts cfg on deps, retrying while its fixed ports are still
// held by the previous run of the node.
func startNode(t *testing.T, cfg node.Config, deps node.Deps) *node.Node {
	t.Helper()
	deps.TuneGossip = clustertest.FastGossip
	cfg.HeartbeatInterval, cfg.JoinTimeout = 50*time.Millisecond, 5*time.Second
	var n *node.Node
	testwait.Until(t, 30*time.Second, "start "+cfg.ID, func() bool {
		var err error
		n, err = node.New(cfg, deps)
		if err != nil && strings.Contains(err.Error(), "address already in use") {
			return false
		}
		if err != nil {
			t.Fatalf("start %s: %v", cfg.ID, err)
		}
		return true
	})
	return n
}

func memberState(t *testing.T, c *client.Client, id string) (string, uint64) {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for _, m := range st.GetMembers() {
		if m.GetId() == id {
			return m.GetState(), m.GetHints()
		}
	}
	return "", 0
}

func TestANodeWithAFullDiskStillDeliversItsHints(t *testing.T) {
	fs := faults.NewDisk(16 << 20)
	// n1 and n2 found the cluster together: n2 owns its partitions from
	// the start, so n1 keeps hints for it while it is down (a joiner would
	// be a pending owner, which is not hinted).
	founders := []string{"n1", "n2"}
	n1 := startNode(t, node.Config{ID: "n1", Dir: "/n1", Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 2, Partitions: 16,
		InitialMembers: founders, DiskReserveBytes: diskReserve, DiskBallastBytes: diskBallast}, node.Deps{FS: fs})
	t.Cleanup(func() { n1.Close(context.Background()) })
	c1 := client.New(n1.Addr())
	t.Cleanup(c1.Close)
	cfg2 := node.Config{ID: "n2", Dir: "/n2", Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 2, Partitions: 16,
		Seeds: []string{n1.GossipAddr()}, InitialMembers: founders}
	disk2 := vfs.NewMem()
	n2 := startNode(t, cfg2, node.Deps{FS: disk2})
	cfg2.Listen, cfg2.Gossip = n2.Addr(), n2.GossipAddr()
	testwait.Until(t, 30*time.Second, "n1 sees n2", func() bool { s, _ := memberState(t, c1, "n2"); return s == "alive" })

	// n2 goes down; n1 keeps the writes it misses as hints.
	if err := n2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, "n1 routes around n2", func() bool {
		_, err := c1.Put(context.Background(), []byte("k"), []byte("v"), nil, 1)
		_, hints := memberState(t, c1, "n2")
		return err == nil && hints > 0
	})
	// n1's disk fills to its reserve (not below half: the ballast stays).
	d := status(t, c1)
	fs.Fill(d.Free - diskReserve*3/4)
	testwait.Until(t, 30*time.Second, "n1 refuses writes", func() bool { return status(t, c1).Full })
	if err := putValue(c1, "k2", []byte("v")); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("write to a full n1: %v", err)
	}

	// n2 returns: n1 delivers, and deletes, its hints all the same.
	n2 = startNode(t, cfg2, node.Deps{FS: disk2})
	t.Cleanup(func() { n2.Close(context.Background()) })
	testwait.Until(t, 30*time.Second, "hints delivered", func() bool { _, h := memberState(t, c1, "n2"); return h == 0 })
	c2 := client.New(n2.Addr())
	t.Cleanup(c2.Close)
	res, err := c2.GetLocal(context.Background(), []byte("k"))
	if err != nil || !res.Found || string(res.Values[0]) != "v" {
		t.Fatalf("n2's copy of k after handoff: %+v %v", res, err)
	}
	if !status(t, c1).Full || fs.ENOSPC.Load() != 0 {
		t.Fatalf("n1 %+v, %d writes refused by its disk", status(t, c1), fs.ENOSPC.Load())
	}
}
