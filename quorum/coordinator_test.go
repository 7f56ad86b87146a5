package quorum_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ringkv/ringkv/quorum"
	"github.com/ringkv/ringkv/vclock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// replicas is an in-memory replica set whose faults a test injects: a down
// replica fails at once, a hung one blocks until the call's deadline.
type replicas struct {
	mu    sync.Mutex
	data  map[string]vclock.Set // node → the set it holds for the test key
	hints map[string]vclock.Set // "holder>target" → hinted set
	down  map[string]bool
	hung  map[string]bool
	calls map[string]int
}

func newReplicas() *replicas {
	return &replicas{data: map[string]vclock.Set{}, hints: map[string]vclock.Set{},
		down: map[string]bool{}, hung: map[string]bool{}, calls: map[string]int{}}
}

func (r *replicas) Hint(ctx context.Context, node, target string, _, set []byte) error {
	if err := r.fault(ctx, node); err != nil {
		return err
	}
	s, err := vclock.Decode(set)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hints[node+">"+target] = vclock.Sync(r.hints[node+">"+target], s)
	return nil
}

func (r *replicas) snapshot(node string) vclock.Set {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.data[node]
}

var errDown = errors.New("replica down")

func (r *replicas) fault(ctx context.Context, node string) error {
	r.mu.Lock()
	r.calls[node]++
	down, hung := r.down[node], r.hung[node]
	r.mu.Unlock()
	if hung {
		<-ctx.Done()
		return ctx.Err()
	}
	if down {
		return errDown
	}
	return nil
}

func (r *replicas) Read(ctx context.Context, node string, _ []byte) ([]byte, error) {
	if err := r.fault(ctx, node); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.data[node]
	if !ok {
		return nil, nil
	}
	return s.Encode(), nil
}

func (r *replicas) Write(ctx context.Context, node string, _, set []byte) error {
	if err := r.fault(ctx, node); err != nil {
		return err
	}
	s, err := vclock.Decode(set)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data[node] = vclock.Sync(r.data[node], s)
	return nil
}

// local is the coordinator's own replica, stored in the same map.
type local struct {
	r       *replicas
	self    string
	actor   vclock.Actor
	durable <-chan struct{} // when set, the write is durable once it is closed
}

func (l local) Update(_ context.Context, _ []byte, wctx vclock.VV, value []byte, tomb bool) (vclock.Set, func() error, error) {
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	s := vclock.Update(l.r.data[l.self], wctx, l.actor, value, tomb)
	l.r.data[l.self] = s
	return s, func() error {
		if l.durable != nil {
			<-l.durable
		}
		return nil
	}, nil
}

func newCoordinator(r *replicas) *quorum.Coordinator {
	return quorum.New(quorum.Config{Self: "a", N: 3, Replicas: r, Local: local{r: r, self: "a", actor: 1}, Timeout: time.Second,
		ReplicaTimeout: 100 * time.Millisecond, ReadRepairWait: time.Second})
}

func newSloppyCoordinator(r *replicas, suspected ...string) *quorum.Coordinator {
	return quorum.New(quorum.Config{Self: "a", N: 3, Replicas: r, Local: local{r: r, self: "a", actor: 1}, Timeout: time.Second,
		ReplicaTimeout: 100 * time.Millisecond, HintedHandoff: true,
		Healthy: func(n string) bool { return !slices.Contains(suspected, n) }})
}

func ackStrings(acks []quorum.Ack) []string {
	out := make([]string, len(acks))
	for i, a := range acks {
		out[i] = a.String()
	}
	slices.Sort(out)
	return out
}

var prefs = []string{"a", "b", "c"}

func TestWriteAnswersAtWAndFinishesTheRest(t *testing.T) {
	r := newReplicas()
	c := newCoordinator(r)
	res, err := c.Write(context.Background(), prefs, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := ackStrings(res.Acks); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("acks %v, want a, b, c", got)
	}
	c.Wait()
	for _, n := range prefs {
		if got := r.snapshot(n).Values(); len(got) != 1 || string(got[0]) != "v" {
			t.Fatalf("replica %s holds %q", n, got)
		}
	}
}

func TestWriteMissingWIsIndeterminate(t *testing.T) {
	r := newReplicas()
	r.down["c"] = true
	c := newCoordinator(r)
	_, err := c.Write(context.Background(), prefs, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 3})
	var we *quorum.WriteError
	if !errors.As(err, &we) || !errors.Is(err, quorum.ErrIndeterminate) {
		t.Fatalf("err = %v, want a WriteError", err)
	}
	c.Wait()
	if len(we.Acks) != 2 || !strings.Contains(err.Error(), "2 of 3 replicas acknowledged") ||
		!strings.Contains(err.Error(), "may still become visible") {
		t.Fatalf("error %q does not say 2 of 3 and indeterminate", err)
	}
}

func TestWriteWithHungReplicaMeetsW2AndW3TimesOut(t *testing.T) {
	r := newReplicas()
	r.hung["c"] = true
	c := newCoordinator(r)
	if _, err := c.Write(context.Background(), prefs, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 2}); err != nil {
		t.Fatalf("w=2 with one hung replica: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Write(ctx, prefs, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v2"), W: 3})
	if !errors.Is(err, quorum.ErrIndeterminate) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("w=3 with one hung replica: %v, want indeterminate by deadline", err)
	}
	c.Wait() // the hung call ends at its deadline: no goroutine outlives it
}

func TestInvalidLevelsAreRefusedBeforeAnyCall(t *testing.T) {
	r := newReplicas()
	c := newCoordinator(r)
	if _, err := c.Write(context.Background(), prefs, quorum.WriteRequest{Key: []byte("k"), W: 4}); !errors.Is(err, quorum.ErrInvalidQuorum) {
		t.Fatalf("w=4: %v", err)
	}
	if _, err := c.Read(context.Background(), prefs, []byte("k"), 4); !errors.Is(err, quorum.ErrInvalidQuorum) {
		t.Fatalf("r=4: %v", err)
	}
	if len(r.calls) != 0 || r.snapshot("a").Found() {
		t.Fatalf("an invalid request reached replicas: %v", r.calls)
	}
}

func TestReadMergesRepliesAndCountsNotFound(t *testing.T) {
	r := newReplicas()
	// b and c each hold a different concurrent write; a holds nothing.
	r.data["b"] = vclock.Update(vclock.Set{}, vclock.VV{}, 2, []byte("x"), false)
	r.data["c"] = vclock.Update(vclock.Set{}, vclock.VV{}, 3, []byte("y"), false)
	c := newCoordinator(r)
	res, err := c.Read(context.Background(), prefs, []byte("k"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Set.Values(); len(got) != 2 || len(res.Replied) != 3 {
		t.Fatalf("values %q replied %v, want 2 siblings from 3 replicas", got, res.Replied)
	}
	c.Wait() // let read repair finish before changing the faults
	r.down["b"], r.down["c"] = true, true
	// The read fails as soon as two replicas failed, so a's reply may or
	// may not have arrived by then.
	if _, err := c.Read(context.Background(), prefs, []byte("k"), 2); !errors.Is(err, quorum.ErrTooFewReplies) ||
		!strings.Contains(err.Error(), " of 3 replicas replied (r=2") {
		t.Fatalf("r=2 with two down: %v", err)
	}
	c.Wait()
}

// Sloppy quorum: a failing primary's write goes to the first healthy node
// past the preference list, as a hint for it, and counts toward W.
func TestSloppyQuorumHintsForAFailedPrimaryOnAFallback(t *testing.T) {
	r := newReplicas()
	r.down["c"] = true
	c := newSloppyCoordinator(r)
	res, err := c.Write(context.Background(), []string{"a", "b", "c", "d", "e"}, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := ackStrings(res.Acks); !slices.Equal(got, []string{"a", "b", "d (hint for c)"}) {
		t.Fatalf("acks %v", got)
	}
	c.Wait()
	if h := r.hints["d>c"]; len(h.Values()) != 1 {
		t.Fatalf("d holds no hint for c: %v", r.hints)
	}
}

// A suspected primary is not even tried: its write goes straight to a hint.
func TestSuspectedPrimaryIsRoutedAround(t *testing.T) {
	r := newReplicas()
	c := newSloppyCoordinator(r, "b", "d")
	res, err := c.Write(context.Background(), []string{"a", "b", "c", "d", "e"}, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 3})
	if err != nil {
		t.Fatal(err)
	}
	c.Wait()
	if got := ackStrings(res.Acks); !slices.Equal(got, []string{"a", "c", "e (hint for b)"}) {
		t.Fatalf("acks %v (d is suspected too, so e is the fallback)", got)
	}
	if r.calls["b"] != 0 {
		t.Fatalf("the suspected primary was called %d times", r.calls["b"])
	}
}

// With no fallback reachable the coordinator keeps the hints itself; they
// do not count twice toward W.
func TestCoordinatorKeepsHintsWhenNoFallbackIsReachable(t *testing.T) {
	r := newReplicas()
	r.down["b"], r.down["c"] = true, true
	c := newSloppyCoordinator(r)
	if _, err := c.Write(context.Background(), prefs, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 1}); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	if _, ok := r.hints["a>b"]; !ok {
		t.Fatalf("no hint for b kept on a: %v", r.hints)
	}
	_, err := c.Write(context.Background(), prefs, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v2"), W: 2})
	if !errors.Is(err, quorum.ErrIndeterminate) || !strings.Contains(err.Error(), "1 of 3 replicas acknowledged") ||
		!strings.Contains(err.Error(), "a (hint for b)") {
		t.Fatalf("w=2 with b and c down: %v", err)
	}
	c.Wait()
}

func TestWithoutHintedHandoffAFailedPrimaryIsNotHinted(t *testing.T) {
	r := newReplicas()
	r.down["c"] = true
	c := newCoordinator(r)
	if _, err := c.Write(context.Background(), []string{"a", "b", "c", "d"}, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 2}); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	if len(r.hints) != 0 {
		t.Fatalf("hints stored with hinted handoff off: %v", r.hints)
	}
}

// Read repair: after answering, the coordinator sends the merge to every
// replica that replied with less.
func TestReadRepairBringsStaleReplicasUpToDate(t *testing.T) {
	r := newReplicas()
	old := vclock.Update(vclock.Set{}, vclock.VV{}, 2, []byte("old"), false)
	newer := vclock.Update(old, old.Context(), 2, []byte("new"), false)
	r.data["a"], r.data["b"] = newer, newer // c holds the old version
	r.data["c"] = old
	c := newCoordinator(r)
	res, err := c.Read(context.Background(), prefs, []byte("k"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Set.Values(); len(got) != 1 || string(got[0]) != "new" {
		t.Fatalf("read %q", got)
	}
	c.Wait()
	if got := r.snapshot("c").Values(); len(got) != 1 || string(got[0]) != "new" || c.ReadRepairs() != 1 {
		t.Fatalf("c after read repair holds %q; repairs %d", got, c.ReadRepairs())
	}
}

func TestWithoutHintedHandoffASuspectedPrimaryIsNotContacted(t *testing.T) {
	r := newReplicas()
	c := quorum.New(quorum.Config{Self: "a", N: 3, Replicas: r, Local: local{r: r, self: "a", actor: 1}, Timeout: time.Second,
		Healthy: func(n string) bool { return n != "c" }})
	if _, err := c.Write(context.Background(), prefs, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 2}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Write(context.Background(), prefs, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 3})
	if !errors.Is(err, quorum.ErrIndeterminate) || !strings.Contains(err.Error(), "suspected") {
		t.Fatalf("w=3 with c suspected: %v", err)
	}
	if _, err := c.Read(context.Background(), prefs, []byte("k"), 3); !errors.Is(err, quorum.ErrTooFewReplies) {
		t.Fatalf("r=3 with c suspected: %v", err)
	}
	c.Wait()
	if r.calls["c"] != 0 || len(r.hints) != 0 {
		t.Fatalf("suspected c was called %d times; hints %v", r.calls["c"], r.hints)
	}
}

// A pending owner receives the write but counts for nothing: W is bounded
// by the owners, a pending owner that fails is neither an error nor hinted,
// and one that is healthy ends up holding the write.
func TestPendingOwnersReceiveWritesButDoNotCount(t *testing.T) {
	r := newReplicas()
	c := newSloppyCoordinator(r)
	defer c.Wait()
	rt := quorum.Route{Owners: []string{"a", "b"}, Pending: []string{"p", "q"}, Fallbacks: []string{"f"}}
	if _, err := c.WriteRoute(context.Background(), rt, quorum.WriteRequest{Key: []byte("k"), W: 3}); !errors.Is(err, quorum.ErrInvalidQuorum) {
		t.Fatalf("w=3 with two owners and two pending: %v, want ErrInvalidQuorum", err)
	}
	r.mu.Lock()
	r.down["q"] = true
	r.mu.Unlock()
	res, err := c.WriteRoute(context.Background(), rt, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := ackStrings(res.Acks); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("acks %v, want a and b only", got)
	}
	c.Wait()
	if !r.snapshot("p").Found() {
		t.Fatal("healthy pending owner p did not receive the write")
	}
	r.mu.Lock()
	hints := len(r.hints)
	r.mu.Unlock()
	if hints != 0 || c.PendingMissed() != 1 {
		t.Fatalf("%d hints stored, %d pending writes missed; want none hinted and q's one miss counted", hints, c.PendingMissed())
	}
	if _, err := c.ReadRoute(context.Background(), rt, []byte("k"), 3); !errors.Is(err, quorum.ErrInvalidQuorum) {
		t.Fatalf("r=3 with two owners: %v, want ErrInvalidQuorum", err)
	}
}
