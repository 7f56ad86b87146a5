package node

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/time/rate"

	"github.com/ringkv/ringkv/internal/testwait"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/vclock"
)

// Scenario 6 of issue 10: hinted handoff must expire hints at a cost that
// grows with the expired hints only, hold no Pebble iterator (nor the
// store's lock) while it waits to send, and age a hint from its newest
// write.

const hintTestWindow = time.Hour

var hintT0 = time.Unix(1_700_000_000, 0)

// hintSet is a version set holding one write, numbered n.
func hintSet(n uint64, value string) vclock.Set {
	return vclock.UpdateDot(vclock.Set{}, vclock.VV{}, vclock.Dot{Actor: 7, Counter: n}, []byte(value), false)
}

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// testHandoff is a handoff over s with every target healthy, no rate
// limit, one send at a time and a send that always succeeds.
func testHandoff(s *storage.Store, now func() time.Time) *handoff {
	return &handoff{
		store: s, log: slog.New(slog.DiscardHandler), window: hintTestWindow, now: now,
		send:    func(context.Context, string, []byte, []byte) error { return nil },
		healthy: func(string) bool { return true },
		limiter: rate.NewLimiter(rate.Inf, 1), concurrency: 1,
		kick: make(chan struct{}, 1), backoff: map[string]retryState{},
	}
}

// openMem opens a store on fs, as a node with n=3 and 4 partitions.
func openMem(t *testing.T, fs vfs.FS) *storage.Store {
	t.Helper()
	s, err := storage.Open(storage.Options{Dir: "data", FS: fs, Settings: storage.Settings{N: 3, Partitions: 4}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fataler is what the helpers need of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func mustStoreHint(t fataler, s *storage.Store, target, key string, set vclock.Set, at time.Time) {
	t.Helper()
	if err := s.StoreHint(target, []byte(key), set, at, 0); err != nil {
		t.Fatalf("store hint %s for %s: %v", key, target, err)
	}
}

// heldHints returns the hints s holds for target: key → creation time.
func heldHints(t fataler, s *storage.Store, target string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := s.ScanHints(target, func(h storage.Hint) bool {
		out[string(h.Key)] = h.Created
		return true
	})
	if err != nil {
		t.Fatalf("scan hints for %s: %v", target, err)
	}
	return out
}

// A write merged into an existing hint starts the hint's window again: the
// hint holds that write, which the target has missed for no longer than
// the window.
func TestMergedHintAgesFromItsNewestWrite(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	clock := &testClock{}
	h := testHandoff(s, clock.now)
	newer := hintT0.Add(hintTestWindow - time.Minute)
	mustStoreHint(t, s, "n3", "k", hintSet(1, "old"), hintT0)
	mustStoreHint(t, s, "n3", "k", hintSet(2, "new"), newer)

	clock.set(hintT0.Add(hintTestWindow + time.Minute))
	h.expire("n3")
	if got := heldHints(t, s, "n3"); len(got) != 1 || h.dropped.Load() != 0 {
		t.Fatalf("a window after the first write and a minute after a newer one, n1 holds %v (dropped %d); "+
			"want the hint kept, aged from its newest write", got, h.dropped.Load())
	}
	clock.set(newer.Add(hintTestWindow + time.Minute))
	h.expire("n3")
	if got := heldHints(t, s, "n3"); len(got) != 0 || h.dropped.Load() != 1 {
		t.Fatalf("a window after the newest write, n1 holds %v (dropped %d); want it expired", got, h.dropped.Load())
	}
}

// Each round of expiry reads the hints it drops and about one more, not
// every hint the target has: hints were written one a second, and each
// round, ten seconds later than the last, drops ten.
func TestHintExpiryReadsOnlyTheExpired(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	const total = 2000
	for i := range total {
		mustStoreHint(t, s, "n3", fmt.Sprintf("k%05d", i), hintSet(uint64(i+1), "v"), hintT0.Add(time.Duration(i)*time.Second))
	}
	clock := &testClock{}
	h := testHandoff(s, clock.now)
	h.healthy = func(string) bool { return false } // expiry only: n3 stays away
	const rounds, perRound, slack = 5, 10, 2
	for r := range rounds {
		// Hint i expires once now passes its creation + window; at this
		// instant hints 0..(r+1)*perRound-1 have.
		clock.set(hintT0.Add(hintTestWindow + time.Duration((r+1)*perRound)*time.Second - time.Millisecond))
		before, dropped := s.HintKeysRead(), h.dropped.Load()
		h.round(context.Background())
		read, got := s.HintKeysRead()-before, h.dropped.Load()-dropped
		if got != perRound || read > perRound+slack {
			t.Fatalf("round %d dropped %d hints reading %d keys; want %d dropped reading at most %d (of %d held)",
				r, got, read, perRound, perRound+slack, total-r*perRound)
		}
	}
	if st := s.HintStats()["n3"]; st.Count != total-rounds*perRound ||
		!st.Oldest.Equal(hintT0.Add(rounds*perRound*time.Second)) {
		t.Fatalf("after expiry n3's hints are %+v; want %d, the oldest created at %s",
			st, total-rounds*perRound, hintT0.Add(rounds*perRound*time.Second))
	}
}

// Delivery reads hints a page at a time and sends with no Pebble iterator
// open and no lock held on the store: while it waits on a slow peer, or on
// the rate limiter, the store can close.
func TestHintDeliveryHoldsNoIteratorWhileWaiting(t *testing.T) {
	t.Run("on the peer", func(t *testing.T) {
		s, h := deliveryFixture(t)
		sending, release := make(chan struct{}, 1), make(chan struct{})
		h.send = func(ctx context.Context, _ string, _, _ []byte) error {
			select {
			case sending <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}
		done := startDelivery(t, h)
		testwait.Until(t, 10*time.Second, "delivery sends", func() bool { return len(sending) == 1 })
		assertStoreIdle(t, s)
		close(release)
		<-done
	})
	t.Run("on the rate limiter", func(t *testing.T) {
		s, h := deliveryFixture(t)
		// One send, then a wait of an hour; the delivery is cancelled as
		// the test ends.
		h.limiter = rate.NewLimiter(rate.Every(time.Hour), 1)
		startDelivery(t, h)
		testwait.Until(t, 10*time.Second, "delivery waits on the limiter", func() bool { return h.limiter.Tokens() < 0 })
		assertStoreIdle(t, s)
	})
}

// deliveryFixture is a store holding 20 hints for n3, flushed to an
// sstable so that an open iterator over them shows in Pebble's metrics.
func deliveryFixture(t *testing.T) (*storage.Store, *handoff) {
	s := openMem(t, vfs.NewMem())
	t.Cleanup(func() { s.Close() })
	for i := range 20 {
		mustStoreHint(t, s, "n3", fmt.Sprintf("k%02d", i), hintSet(uint64(i+1), "v"), time.Now())
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	return s, testHandoff(s, time.Now)
}

// startDelivery runs a delivery pass to n3, cancelled when the test ends;
// the channel closes when it returns.
func startDelivery(t *testing.T, h *handoff) <-chan struct{} {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.deliver(ctx, "n3")
	}()
	t.Cleanup(func() { cancel(); <-done })
	return done
}

// assertStoreIdle checks, while delivery waits, that no sstable iterator
// is open and that the store closes.
func assertStoreIdle(t *testing.T, s *storage.Store) {
	t.Helper()
	if n := s.TableIterators(); n != 0 {
		t.Errorf("%d sstable iterators open while delivery waits", n)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	testwait.Until(t, 5*time.Second, "the store closes while delivery waits", func() bool { return len(closed) == 1 })
}

// A hint and its index entry are written and deleted in one batch: a
// crash at any step (keeping all, some or none of what was not synced)
// leaves an index that matches the hints, and the hints stored before the
// step still expire on time.
func TestHintIndexSurvivesACrashAtEveryStep(t *testing.T) {
	mem := vfs.NewCrashableMem()
	s := openMem(t, mem)
	defer s.Close()
	clock := &testClock{t: hintT0}
	h := testHandoff(s, clock.now)
	steps := []func(){
		func() { mustStoreHint(t, s, "n3", "a", hintSet(1, "a"), hintT0) },
		func() { mustStoreHint(t, s, "n3", "b", hintSet(2, "b"), hintT0) },
		func() { mustStoreHint(t, s, "n3", "a", hintSet(3, "a2"), hintT0.Add(hintTestWindow/2)) },
		// b expires; a, merged since, does not.
		func() { clock.set(hintT0.Add(hintTestWindow + time.Minute)); h.expire("n3") },
		// a is delivered.
		func() { h.deliver(context.Background(), "n3") },
	}
	for i, step := range steps {
		step()
		for _, unsynced := range []int{0, 50, 100} {
			clone := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: rand.New(rand.NewPCG(uint64(i), 6))})
			checkCrashedHints(t, clone, fmt.Sprintf("crash after step %d keeping %d%% of unsynced data", i, unsynced))
		}
	}
}

// checkCrashedHints opens a crashed copy of a store and checks its index
// against its hints, and that every hint stored at hintT0 with no newer
// write expires a window later.
func checkCrashedHints(t *testing.T, fs vfs.FS, what string) {
	t.Helper()
	s := openMem(t, fs)
	defer s.Close()
	if err := s.VerifyHintIndex("n3"); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if _, err := s.ExpireHints("n3", hintT0.Add(hintTestWindow+time.Minute), hintTestWindow); err != nil {
		t.Fatalf("%s: expire: %v", what, err)
	}
	for key, created := range heldHints(t, s, "n3") {
		if created.Equal(hintT0) {
			t.Fatalf("%s: %s, created %s, outlived its window", what, key, created)
		}
	}
}
