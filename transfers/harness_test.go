package transfers_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/goleak"

	"github.com/ringkv/ringkv/internal/faults"
	"github.com/ringkv/ringkv/internal/testwait"
	"github.com/ringkv/ringkv/ring"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/transfers"
	"github.com/ringkv/ringkv/vclock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The cluster shape of every test: 4 partitions, and partition 1 moves.
const (
	partitions = 4
	moving     = 1
)

var id = transfers.ID{Partition: moving, From: "n1", To: "n4", Epoch: 7}

// node is one replica: a real Pebble store on a crashable in-memory disk,
// and the Receiver over it. crash replaces both by what a kill -9 leaves.
type node struct {
	t     testing.TB
	mu    sync.Mutex
	mem   *vfs.MemFS
	fs    *faults.Disk // over mem: hangs syncs on demand
	store *storage.Store
	recv  *transfers.Receiver
	dones chan transfers.ID // the receiver's completions
}

func newNode(t testing.TB) *node {
	n := &node{t: t, mem: vfs.NewCrashableMem(), dones: make(chan transfers.ID, 16)}
	n.open()
	t.Cleanup(func() { _ = n.current().Close() })
	return n
}

func (n *node) open() {
	n.fs = faults.NewDiskOver(n.mem, 1<<40)
	s, err := storage.Open(storage.Options{Dir: "data", FS: n.fs, Settings: storage.Settings{N: 3, Partitions: partitions}})
	if err != nil {
		n.t.Fatal(err)
	}
	n.store = s
	n.recv = transfers.NewReceiver(s, func(id transfers.ID) {
		select { // onDone must not block
		case n.dones <- id:
		default:
		}
	})
}

func (n *node) current() *storage.Store {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.store
}

func (n *node) receiver() *transfers.Receiver {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.recv
}

// crash kills the node: the disk keeps what was synced (and unsynced
// percent of the rest), and the node restarts on it.
func (n *node) crash(unsynced int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	clone := n.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: rand.New(rand.NewPCG(uint64(unsynced), 1))})
	_ = n.store.Close()
	n.mem = clone
	n.open()
}

// crashMidBatch kills the node while b is applied but not yet synced: the
// disk keeps only what was synced before. It returns the cursor the
// restarted node has.
func (n *node) crashMidBatch(ctx context.Context, b transfers.Batch) transfers.Cursor {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fs.Hang()
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		_, _ = n.recv.Send(ctx, b)
	}()
	testwait.Until(n.t, 30*time.Second, "the batch waits on its sync", func() bool { return n.fs.Blocked.Load() > 0 })
	clone := n.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	n.fs.Release()
	<-applied
	_ = n.store.Close()
	n.mem = clone
	n.open()
	c, err := n.recv.Cursor(ctx, b.ID)
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

// contents is every key the node holds, in every partition, with its set.
func (n *node) contents() map[string]vclock.Set {
	out := map[string]vclock.Set{}
	s := n.current()
	for p := range partitions {
		var after []byte
		for {
			page, err := s.TransferPage(p, after, 0, 0)
			if err != nil {
				n.t.Fatal(err)
			}
			for _, it := range page.Items {
				set, _ := vclock.Decode(it.Set)
				out[string(it.Key)] = vclock.Sync(out[string(it.Key)], set)
			}
			if page.Done {
				break
			}
			after = page.Next
		}
	}
	return out
}

// world is a donor, a receiver, and what the receiver must end up with.
type world struct {
	t         testing.TB
	donor     *node
	recv      *node
	want      map[string]vclock.Set // partition `moving`'s keys: the join of every version sent or written
	wantTombs map[string]time.Time  // keys the donor deleted: their reap state there
}

// newWorld fills the donor with keys in every partition, deletes some,
// holds hints for others, and gives the receiver an old copy of some keys
// the donor deleted since (they must not come back).
func newWorld(t *testing.T, keys int) *world {
	w := &world{t: t, donor: newNode(t), recv: newNode(t), want: map[string]vclock.Set{}, wantTombs: map[string]time.Time{}}
	other := newNode(t) // a third replica, whose writes reach the donor only as hints
	for i := range keys {
		key := fmt.Appendf(nil, "key-%04d", i)
		set := w.update(w.donor, key, vclock.VV{}, fmt.Sprintf("value-%d-%0100d", i, i), false)
		if i%7 == 0 {
			w.merge(w.recv, key, set) // the receiver's old copy
			w.update(w.donor, key, set.Context(), "", true)
		}
		if i%5 == 0 {
			hinted := w.update(other, key, set.Context(), fmt.Sprintf("hinted-%d", i), false)
			if err := w.donor.current().StoreHint("n3", key, hinted, time.Now(), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.noteTombstones()
	return w
}

// update writes key on n as its coordinator and adds the result to want.
func (w *world) update(n *node, key []byte, ctx vclock.VV, value string, tomb bool) vclock.Set {
	set, err := n.current().Update(key, ctx, []byte(value), tomb, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	w.note(key, set)
	return set
}

// merge writes set to key on n as a replica write and adds it to want.
func (w *world) merge(n *node, key []byte, set vclock.Set) {
	if _, err := n.current().Merge(key, set); err != nil {
		w.t.Fatal(err)
	}
	w.note(key, set)
}

func (w *world) note(key []byte, set vclock.Set) {
	if w.partitionOf(key) == moving {
		w.want[string(key)] = vclock.Sync(w.want[string(key)], set)
	}
}

func (w *world) partitionOf(key []byte) int {
	lo, hi := w.donor.current().HashRange(moving)
	if h := ring.KeyHash(key); h >= lo && h <= hi {
		return moving
	}
	return -1
}

func (w *world) noteTombstones() {
	lo, hi := w.donor.current().HashRange(moving)
	err := w.donor.current().ScanTombstones(lo, hi, func(tb storage.Tombstone) bool {
		w.wantTombs[string(tb.Key)] = tb.Since
		return true
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// partitionBytes is what one full stream of the moving partition sends.
func (w *world) partitionBytes() int64 {
	var n int64
	var after []byte
	for {
		page, err := w.donor.current().TransferPage(moving, after, 0, 0)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, it := range page.Items {
			n += int64(it.Size())
		}
		if page.Done {
			return n
		}
		after = page.Next
	}
}

// check asserts the receiver holds every key of the partition with
// exactly the join of what was sent and written to it, deleted keys as
// tombstones with the donor's reap state, and nothing of other
// partitions it did not hold before.
func (w *world) check() {
	w.t.Helper()
	got := w.recv.contents()
	for key, want := range w.want {
		if !vclock.Equal(got[key], want) {
			w.t.Fatalf("key %s: receiver holds %v, want %v", key, got[key], want)
		}
	}
	for key := range got {
		if _, ok := w.want[key]; !ok && w.partitionOf([]byte(key)) == moving {
			w.t.Fatalf("key %s: on the receiver but never written", key)
		}
	}
	w.checkTombstones()
}

func (w *world) checkTombstones() {
	w.t.Helper()
	want := 0
	for key := range w.wantTombs {
		if storage.TombstoneOnly(w.want[key]) { // not written again since (hints, direct writes)
			want++
		}
	}
	s := w.recv.current()
	lo, hi := s.HashRange(moving)
	seen := 0
	err := s.ScanTombstones(lo, hi, func(tb storage.Tombstone) bool {
		if since, ok := w.wantTombs[string(tb.Key)]; ok {
			seen++
			if !tb.Since.Equal(since) {
				w.t.Errorf("tombstone %s: reap state %v on the receiver, %v on the donor", tb.Key, tb.Since, since)
			}
		}
		return true
	})
	if err != nil || seen != want || len(w.wantTombs) == 0 {
		w.t.Fatalf("receiver holds %d of the donor's %d tombstones (err %v)", seen, want, err)
	}
}

// manager starts a Manager over n's store that reports completions on a
// channel, closed at cleanup.
func manager(t testing.TB, n *node, cfg transfers.Config) (*transfers.Manager, chan transfers.ID) {
	done := make(chan transfers.ID, 16)
	cfg.OnDone = func(id transfers.ID) { done <- id }
	cfg.Rate = 1 << 40 // pacing is not what these tests measure
	cfg.Logger = slog.New(slog.DiscardHandler)
	if cfg.RetryBase == 0 {
		cfg.RetryBase, cfg.RetryMax = time.Millisecond, 5*time.Millisecond
	}
	m, err := transfers.New(cfg, n.current())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, done
}

// waitDone waits for a transfer's completion on both sides.
func waitDone(t *testing.T, done chan transfers.ID, recv *node) {
	t.Helper()
	for _, ch := range []chan transfers.ID{done, recv.dones} {
		select {
		case got := <-ch:
			if got != id {
				t.Fatalf("done: %v, want %v", got, id)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("transfer not done within 30s")
		}
	}
}

// fault is what the faulty peer does with one call.
type fault int

const (
	deliver     fault = iota
	drop              // lost on the way: the call times out
	fail              // refused with an error
	loseReply         // applied, but the reply is lost
	duplicate         // delivered twice
	replayOld         // an earlier batch arrives late, then this one
	crashBefore       // the receiver dies before applying it
	crashAfter        // the receiver dies after applying it, before replying
	crashMid          // the receiver dies after applying it, before syncing it
	hang              // never answered: the call waits for its context
)

var errInjected = errors.New("injected fault")

// faultPeer carries calls from a donor to a node's Receiver, doing to the
// n-th Send what plan says.
type faultPeer struct {
	n    *node
	plan func(n int) fault

	mu      sync.Mutex
	sends   int
	history []transfers.Batch
	afters  [][]byte    // each Send's After, in order
	before  func(i int) // called before each Send, if not nil
	// midCursors are the receiver's cursors after each crashMid
	// (written by the one sending goroutine, read after it finished).
	midCursors []transfers.Cursor
	midAfters  [][]byte // the After of each batch lost by crashMid
	active     int      // Sends in progress now
	peak       int      // most Sends at once
}

func newFaultPeer(n *node, plan func(i int) fault) *faultPeer {
	return &faultPeer{n: n, plan: plan}
}

func (p *faultPeer) Cursor(ctx context.Context, id transfers.ID) (transfers.Cursor, error) {
	return p.n.receiver().Cursor(ctx, id)
}

func (p *faultPeer) Send(ctx context.Context, b transfers.Batch) (transfers.Cursor, error) {
	i, old := p.enter(b)
	defer p.leave()
	if p.before != nil {
		p.before(i)
	}
	switch p.plan(i) {
	case drop:
		return transfers.Cursor{}, context.DeadlineExceeded
	case fail:
		return transfers.Cursor{}, errInjected
	case hang:
		<-ctx.Done()
		return transfers.Cursor{}, ctx.Err()
	case crashBefore:
		p.n.crash(50)
		return transfers.Cursor{}, errInjected
	case crashMid:
		p.midCursors = append(p.midCursors, p.n.crashMidBatch(ctx, b))
		p.midAfters = append(p.midAfters, b.After)
		return transfers.Cursor{}, errInjected
	case loseReply, crashAfter, duplicate, replayOld:
		return p.special(ctx, p.plan(i), b, old)
	}
	return p.n.receiver().Send(ctx, b)
}

// special delivers b with the faults that still apply it.
func (p *faultPeer) special(ctx context.Context, f fault, b, old transfers.Batch) (transfers.Cursor, error) {
	if f == replayOld && old.ID == b.ID {
		_, _ = p.n.receiver().Send(ctx, old)
	}
	c, err := p.n.receiver().Send(ctx, b)
	switch f {
	case duplicate:
		return p.n.receiver().Send(ctx, b)
	case loseReply:
		return transfers.Cursor{}, context.DeadlineExceeded
	case crashAfter:
		p.n.crash(50)
		return transfers.Cursor{}, errInjected
	}
	return c, err
}

// enter counts a Send and picks an earlier batch to replay.
func (p *faultPeer) enter(b transfers.Batch) (int, transfers.Batch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sends++
	p.active++
	p.peak = max(p.peak, p.active)
	p.afters = append(p.afters, b.After)
	var old transfers.Batch
	if len(p.history) > 0 {
		old = p.history[len(p.history)/2]
	}
	p.history = append(p.history, b)
	return p.sends, old
}

func (p *faultPeer) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active--
}

// afterAt is the After of the i-th Send (1-based).
func (p *faultPeer) afterAt(i int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.afters[i-1]
}

// sent is how many Sends the peer has seen.
func (p *faultPeer) sent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sends
}

// waitSend waits until the peer has seen its i-th Send.
func (p *faultPeer) waitSend(t *testing.T, i int) {
	t.Helper()
	testwait.Until(t, 30*time.Second, fmt.Sprintf("send %d", i), func() bool { return p.sent() >= i })
}
