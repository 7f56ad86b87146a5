package transfers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/testwait"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/transfers"
)

func always(f fault) func(int) fault { return func(int) fault { return f } }

// hangAt delivers every Send but the n-th, which never gets an answer.
func hangAt(n int) func(int) fault {
	return func(i int) fault {
		if i == n {
			return hang
		}
		return deliver
	}
}

// A transfer copies every key of the partition, values and tombstones
// (with the donor's reap state) and the hints the donor holds for it, and
// merges: a newer write that reached the receiver directly during the
// transfer is kept, and a value deleted on the donor does not come back.
func TestTransferCopiesThePartitionAndKeepsDirectWrites(t *testing.T) {
	w := newWorld(t, 600)
	peer := newFaultPeer(w.recv, always(deliver))
	peer.before = func(i int) {
		if i == 3 { // mid-transfer: clients write to the pending owner
			w.writeDirect(w.recv)
		}
	}
	m, done := manager(t, w.donor, transfers.Config{BatchKeys: 16, BatchBytes: 2 << 10})
	if err := m.Start(id, peer); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done, w.recv)
	w.check()
	if sent, full := m.BytesSent(), w.partitionBytes(); sent < full || sent > full+full/4 {
		t.Fatalf("sent %d bytes for a partition of %d", sent, full)
	}
}

// writeDirect writes, on n, a newer version of every tenth key of the
// partition (some already copied, some not yet), with the donor's version
// as context: what a client's read-then-write does during a transfer.
func (w *world) writeDirect(n *node) {
	i := 0
	for key := range w.want {
		i++
		if i%10 != 0 {
			continue
		}
		donorSet, err := w.donor.current().Read([]byte(key))
		if err != nil {
			w.t.Fatal(err)
		}
		w.update(n, []byte(key), donorSet.Context(), "direct-"+key, false)
	}
}

// A donor killed mid-transfer resumes from the receiver's cursor: the
// restarted donor's first batch starts where the receiver stood, and the
// bytes sent in total stay under twice the partition.
func TestDonorCrashResumesFromTheCursor(t *testing.T) {
	w := newWorld(t, 600)
	const killAt = 15
	first := newFaultPeer(w.recv, hangAt(killAt))
	m1, _ := manager(t, w.donor, transfers.Config{BatchKeys: 8, BatchBytes: 2 << 10})
	if err := m1.Start(id, first); err != nil {
		t.Fatal(err)
	}
	first.waitSend(t, killAt)
	_ = m1.Close() // the donor dies; its disk keeps what it synced
	w.donor.crash(0)
	before, err := w.recv.receiver().Cursor(context.Background(), id)
	if err != nil || before.After == nil {
		t.Fatalf("receiver's cursor before the restart: %x, %v", before.After, err)
	}
	second := newFaultPeer(w.recv, always(deliver))
	m2, done := manager(t, w.donor, transfers.Config{BatchKeys: 8, BatchBytes: 2 << 10})
	if err := m2.Start(id, second); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done, w.recv)
	w.check()
	if !bytes.Equal(second.afterAt(1), before.After) {
		t.Fatalf("restarted donor began after %x, the receiver stood at %x", second.afterAt(1), before.After)
	}
	full, total := w.partitionBytes(), m1.BytesSent()+m2.BytesSent()
	if total >= 2*full || m2.BytesSent() >= full {
		t.Fatalf("sent %d bytes in total (%d after the restart) for a partition of %d", total, m2.BytesSent(), full)
	}
	t.Logf("partition %d bytes; sent %d before the kill, %d after", full, m1.BytesSent(), m2.BytesSent())
}

// A receiver killed before a batch is applied, or after it is applied but
// before its reply, restarts on what it synced; the donor resumes from
// its cursor and nothing is lost, not even writes that reached the
// receiver directly before it died.
func TestReceiverCrashResumesAndLosesNothing(t *testing.T) {
	w := newWorld(t, 600)
	peer := newFaultPeer(w.recv, func(i int) fault {
		switch i {
		case 4, 20:
			return crashBefore
		case 9, 30:
			return crashAfter
		}
		return deliver
	})
	peer.before = func(i int) {
		if i == 8 {
			w.writeDirect(w.recv)
		}
	}
	m, done := manager(t, w.donor, transfers.Config{BatchKeys: 8, BatchBytes: 2 << 10})
	if err := m.Start(id, peer); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done, w.recv)
	w.check()
	if full := w.partitionBytes(); m.BytesSent() >= 2*full {
		t.Fatalf("sent %d bytes for a partition of %d: restarted from zero", m.BytesSent(), full)
	}
	if p := m.Snapshot(); len(p) != 0 {
		t.Fatalf("finished transfer still listed: %+v", p)
	}
}

// Lost, refused, duplicated and late deliveries and lost replies delay a
// transfer but change nothing it copies.
func TestUnreliableDeliveryCopiesExactly(t *testing.T) {
	w := newWorld(t, 400)
	faults := []fault{deliver, drop, fail, loseReply, duplicate, replayOld, deliver, replayOld}
	peer := newFaultPeer(w.recv, func(i int) fault { return faults[i%len(faults)] })
	m, done := manager(t, w.donor, transfers.Config{BatchKeys: 8, BatchBytes: 2 << 10})
	if err := m.Start(id, peer); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done, w.recv)
	w.check()
}

// A batch applied twice, or delivered after later ones, changes neither
// the data nor the cursor; one that starts past the cursor is refused with
// the cursor to resume from.
func TestDuplicateAndLateBatchesChangeNothing(t *testing.T) {
	w := newWorld(t, 300)
	r, ctx := w.recv.receiver(), context.Background()
	batches := w.batches(4)
	for _, b := range batches[:3] {
		if _, err := r.Send(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	before, cur := w.recv.contents(), mustCursor(t, r)
	for _, b := range []transfers.Batch{batches[2], batches[0], batches[1]} {
		got, err := r.Send(ctx, b)
		if err != nil || !bytes.Equal(got.After, cur.After) {
			t.Fatalf("resending a batch: cursor %x, err %v; want %x", got.After, err, cur.After)
		}
	}
	if after := w.recv.contents(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("resending applied batches changed the receiver's data")
	}
	if c := mustCursor(t, r); !bytes.Equal(c.After, cur.After) || c.Done {
		t.Fatalf("cursor moved from %x to %x", cur.After, c.After)
	}
	ahead := batches[3]
	ahead.After, ahead.Items, ahead.Next = batches[3].Next, batches[3].Items[:1], append(bytes.Clone(batches[3].Next), 0xff)
	var gap *transfers.GapError
	if _, err := r.Send(ctx, ahead); !errors.As(err, &gap) || !bytes.Equal(gap.Cursor.After, cur.After) {
		t.Fatalf("a batch past the cursor: %v, want ErrGap with the cursor %x", err, cur.After)
	}
}

// batches reads the first n batches of the moving partition's stream.
func (w *world) batches(n int) []transfers.Batch {
	var out []transfers.Batch
	var after []byte
	for range n {
		page, err := w.donor.current().TransferPage(moving, after, 8, 0)
		if err != nil || page.Done {
			w.t.Fatalf("page: %v, done %v", err, page.Done)
		}
		out = append(out, transfers.Batch{ID: id, After: after, Items: page.Items, Next: page.Next})
		after = page.Next
	}
	return out
}

func mustCursor(t *testing.T, r *transfers.Receiver) transfers.Cursor {
	t.Helper()
	c, err := r.Cursor(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A receiver refuses, and does not apply, a batch for a partition it does
// not have, one with a key of another partition, one over the bounds, or
// one whose version set is malformed.
func TestReceiverRefusesBadBatches(t *testing.T) {
	w := newWorld(t, 100)
	r := w.recv.receiver()
	good := w.batches(1)[0]
	other := id
	other.Partition = moving + 1
	wrongPart := good
	wrongPart.ID = other
	tooMany := good
	tooMany.Items = make([]storage.TransferItem, transfers.MaxBatchKeys+1)
	outOfRange := good
	outOfRange.ID.Partition = partitions
	corrupt := good
	corrupt.Items = append([]storage.TransferItem{{Key: good.Items[0].Key, Set: []byte{0xff, 1}}}, good.Items[1:]...)
	before := w.recv.contents()
	for name, b := range map[string]transfers.Batch{"key of another partition": wrongPart, "too many keys": tooMany,
		"partition out of range": outOfRange, "malformed set": corrupt} {
		if _, err := r.Send(context.Background(), b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if fmt.Sprint(w.recv.contents()) != fmt.Sprint(before) || mustCursor(t, r).After != nil {
		t.Fatal("a refused batch changed the receiver")
	}
}

// A transfer's progress shows keys and bytes applied, how far through the
// partition it is, its rate and an ETA, from an injected clock.
func TestSnapshotReportsProgress(t *testing.T) {
	w := newWorld(t, 400)
	peer := newFaultPeer(w.recv, hangAt(10))
	clock := &fakeClock{t: time.Unix(1000, 0)}
	m, _ := manager(t, w.donor, transfers.Config{BatchKeys: 4, BatchBytes: 2 << 10, Now: clock.now})
	if err := m.Start(id, peer); err != nil {
		t.Fatal(err)
	}
	peer.waitSend(t, 10)
	snap := m.Snapshot()
	if len(snap) != 1 {
		t.Fatalf("snapshot %+v", snap)
	}
	p := snap[0]
	if p.ID != id || p.State != transfers.Streaming || p.Keys != 36 || p.Bytes <= 0 || p.BytesSent <= p.Bytes ||
		p.Fraction <= 0 || p.Fraction >= 1 || p.Rate <= 0 || p.ETA <= 0 {
		t.Fatalf("progress after 9 batches of 4 keys: %+v", p)
	}
	m.Cancel(id)
}

// fakeClock advances a second each time it is read.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// At most Concurrency partitions stream at once, the others wait; Close
// stops them all (goleak checks no goroutine is left), and nothing starts
// after it.
func TestConcurrencyIsBoundedAndCloseStopsEverything(t *testing.T) {
	w := newWorld(t, 200)
	peer := newFaultPeer(w.recv, always(hang))
	m, _ := manager(t, w.donor, transfers.Config{Concurrency: 2})
	for p := range partitions {
		if err := m.Start(transfers.ID{Partition: p, From: "n1", To: "n4"}, peer); err != nil {
			t.Fatal(err)
		}
	}
	peer.waitSend(t, 2)
	waiting := 0
	for _, p := range m.Snapshot() {
		if p.State == transfers.Waiting {
			waiting++
		}
	}
	if waiting != 2 {
		t.Fatalf("%d transfers waiting for a slot, want 2: %+v", waiting, m.Snapshot())
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if peer.peak > 2 {
		t.Fatalf("%d partitions streamed at once, the limit is 2", peer.peak)
	}
	if err := m.Start(id, peer); !errors.Is(err, transfers.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []transfers.Config{{Rate: -1}, {Concurrency: -1}, {BatchKeys: transfers.MaxBatchKeys + 1},
		{BatchBytes: transfers.MaxBatchBytes}, {CallTimeout: -time.Second}} {
		if err := c.Validate(); !errors.Is(err, transfers.ErrBadConfig) {
			t.Errorf("%+v: %v, want ErrBadConfig", c, err)
		}
	}
	if err := transfers.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// Clients writing to the pending owner while batches are applied to the
// same keys lose nothing: each key ends as the join of both.
func TestConcurrentDirectWritesAreKept(t *testing.T) {
	w := newWorld(t, 400)
	var keys [][]byte
	for key := range w.want {
		keys = append(keys, []byte(key))
	}
	peer := newFaultPeer(w.recv, always(deliver))
	m, done := manager(t, w.donor, transfers.Config{BatchKeys: 8, BatchBytes: 2 << 10})
	writer := make(chan struct{})
	go func() { // bounded: one write per key
		defer close(writer)
		for i, key := range keys {
			donorSet, err := w.donor.current().Read(key)
			if err != nil {
				t.Error(err)
				return
			}
			w.update(w.recv, key, donorSet.Context(), fmt.Sprintf("direct-%d", i), false)
		}
	}()
	if err := m.Start(id, peer); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done, w.recv)
	<-writer
	w.check()
}

// A transfer of an empty partition completes; a donor that starts a
// transfer the receiver already finished sends nothing and reports it
// done; a forgotten cursor starts again from zero.
func TestDoneTransfersStayDone(t *testing.T) {
	donor, recv := newNode(t), newNode(t)
	m, done := manager(t, donor, transfers.Config{})
	if err := m.Start(id, recv.receiver()); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done, recv)
	again, done2 := manager(t, donor, transfers.Config{})
	if err := again.Start(id, recv.receiver()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done2:
		if got != id || again.BytesSent() != 0 {
			t.Fatalf("restarting a finished transfer: done %v, sent %d bytes", got, again.BytesSent())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("restarted transfer not done within 30s")
	}
	if c := mustCursor(t, recv.receiver()); !c.Done {
		t.Fatalf("cursor %+v, want done", c)
	}
	if err := recv.receiver().Forget(id); err != nil {
		t.Fatal(err)
	}
	if c := mustCursor(t, recv.receiver()); c.Done || c.After != nil {
		t.Fatalf("forgotten cursor: %+v", c)
	}
}

// A receiver killed in the middle of a batch (applied, not yet synced)
// loses the batch and its cursor together: it restarts with the cursor
// from before the batch, the donor resends from there, and nothing is
// lost.
func TestReceiverCrashMidBatchLosesTheBatchAndItsCursorTogether(t *testing.T) {
	w := newWorld(t, 400)
	peer := newFaultPeer(w.recv, func(i int) fault {
		if i == 5 || i == 12 {
			return crashMid
		}
		return deliver
	})
	m, done := manager(t, w.donor, transfers.Config{BatchKeys: 8, BatchBytes: 2 << 10})
	if err := m.Start(id, peer); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done, w.recv)
	w.check()
	if len(peer.midCursors) != 2 {
		t.Fatalf("%d crashes mid-batch, want 2", len(peer.midCursors))
	}
	for i, c := range peer.midCursors {
		if !bytes.Equal(c.After, peer.midAfters[i]) {
			t.Fatalf("crash %d: restarted with cursor %x, the lost batch started after %x", i, c.After, peer.midAfters[i])
		}
	}
}

// A cancelled transfer started again resumes at once from the receiver's
// cursor; the same copy under a new epoch (the receiver may have missed
// writes since) starts from zero.
func TestCancelThenStartResumesAndANewEpochStartsOver(t *testing.T) {
	w := newWorld(t, 300)
	stuck := newFaultPeer(w.recv, hangAt(5))
	m, done := manager(t, w.donor, transfers.Config{BatchKeys: 8})
	if err := m.Start(id, stuck); err != nil {
		t.Fatal(err)
	}
	stuck.waitSend(t, 5)
	m.Cancel(id)
	resumed := newFaultPeer(w.recv, always(deliver))
	if err := m.Start(id, resumed); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done, w.recv)
	if resumed.afterAt(1) == nil {
		t.Fatal("a restarted transfer began from zero")
	}
	next := id
	next.Epoch++
	fresh := newFaultPeer(w.recv, always(deliver))
	if err := m.Start(next, fresh); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, "the new epoch's first batch", func() bool { return fresh.sent() > 0 })
	if fresh.afterAt(1) != nil {
		t.Fatalf("a new epoch began after %x, not from zero", fresh.afterAt(1))
	}
}
