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
	down  map[string]bool
	hung  map[string]bool
	calls map[string]int
}

func newReplicas() *replicas {
	return &replicas{data: map[string]vclock.Set{}, down: map[string]bool{}, hung: map[string]bool{}, calls: map[string]int{}}
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
	r     *replicas
	self  string
	actor vclock.Actor
}

func (l local) Update(_ context.Context, _ []byte, wctx vclock.VV, value []byte, tomb bool) (vclock.Set, func() error, error) {
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	s := vclock.Update(l.r.data[l.self], wctx, l.actor, value, tomb)
	l.r.data[l.self] = s
	return s, func() error { return nil }, nil
}

func newCoordinator(r *replicas) *quorum.Coordinator {
	return quorum.New(quorum.Config{Self: "a", N: 3, Replicas: r, Local: local{r, "a", 1}, Timeout: time.Second})
}

var prefs = []string{"a", "b", "c"}

func TestWriteAnswersAtWAndFinishesTheRest(t *testing.T) {
	r := newReplicas()
	c := newCoordinator(r)
	res, err := c.Write(context.Background(), prefs, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Acks) != 3 || !slices.Contains(res.Acks, "a") {
		t.Fatalf("acks %v, want a and 3 in all", res.Acks)
	}
	c.Wait()
	for _, n := range prefs {
		if got := r.data[n].Values(); len(got) != 1 || string(got[0]) != "v" {
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
	if len(r.calls) != 0 || r.data["a"].Found() {
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
	r.down["b"], r.down["c"] = true, true
	if _, err := c.Read(context.Background(), prefs, []byte("k"), 2); !errors.Is(err, quorum.ErrTooFewReplies) ||
		!strings.Contains(err.Error(), "1 of 3 replicas replied") {
		t.Fatalf("r=2 with two down: %v", err)
	}
	c.Wait()
}
