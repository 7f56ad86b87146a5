package quorum_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/testwait"
	"github.com/ringkv/ringkv/quorum"
)

// These tests hold the line of issue 10, defect 4: only a key's replicas
// (or the fallbacks designated for a missing one) count toward W, and a
// request's coordination is sized for every reply it can receive.

// A node that is not one of the key's replicas never coordinates its write:
// it must not apply the write locally and count itself toward W, even when
// every replica is down and W=1.
func TestANonReplicaDoesNotCoordinateAWrite(t *testing.T) {
	r := newReplicas()
	r.down["b"], r.down["c"], r.down["d"] = true, true, true
	c := newSloppyCoordinator(r, "b", "c", "d")
	_, err := c.Write(context.Background(), []string{"b", "c", "d", "a", "e"}, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 1})
	c.Wait()
	if !errors.Is(err, quorum.ErrNotReplica) || !strings.Contains(err.Error(), "b, c, d") {
		t.Fatalf("w=1 coordinated by a, not a replica of (b, c, d): %v, want ErrNotReplica naming the replicas", err)
	}
	if r.snapshot("a").Found() || len(r.hints) != 0 || len(r.calls) != 0 {
		t.Fatalf("a refused write left data %v, hints %v, calls %v", r.snapshot("a").Values(), r.hints, r.calls)
	}
}

// Wait (and so a node's Close) returns even when the request answered
// before any reply was collected: no replica call is left blocked on
// handing over a reply nobody reads.
func TestWaitReturnsWithRepliesNeverCollected(t *testing.T) {
	for _, walk := range [][]string{
		{"a", "b", "c", "d"}, // a coordinates as a replica
		{"b", "c", "d", "a"}, // a is no replica: it must not fan out at all
	} {
		r := newReplicas()
		r.hung["b"], r.hung["c"], r.hung["d"] = true, true, true
		// The local fsync, too, is slower than the request's deadline.
		durable := make(chan struct{})
		c := quorum.New(quorum.Config{Self: "a", N: 3, Replicas: r, Local: local{r: r, self: "a", actor: 1, durable: durable},
			Timeout: time.Second, ReplicaTimeout: 100 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := c.Write(ctx, walk, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 3})
		cancel()
		close(durable)
		if err == nil {
			t.Fatalf("walk %v: w=3 with every peer hung succeeded", walk)
		}
		waited := make(chan struct{})
		go func() { c.Wait(); close(waited) }()
		testwait.Until(t, 10*time.Second, "Wait returns after a write whose replies were never collected", func() bool {
			select {
			case <-waited:
				return true
			default:
				return false
			}
		})
	}
}

// R and W are checked against the key's replicas (min(N, members)), not N:
// a level the ring cannot supply is refused before any replica is touched,
// with an error naming the limit.
func TestLevelsAreCheckedAgainstTheReplicasTheRingHas(t *testing.T) {
	r := newReplicas()
	c := newCoordinator(r) // N=3
	two := []string{"a", "b"}
	_, err := c.Write(context.Background(), two, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 3})
	if !errors.Is(err, quorum.ErrInvalidQuorum) || !strings.Contains(err.Error(), "w=3 is outside 1..2") ||
		!strings.Contains(err.Error(), "2 replicas") {
		t.Fatalf("w=3 with two replicas: %v", err)
	}
	_, err = c.Read(context.Background(), two, []byte("k"), 3)
	if !errors.Is(err, quorum.ErrInvalidQuorum) || !strings.Contains(err.Error(), "r=3 is outside 1..2") {
		t.Fatalf("r=3 with two replicas: %v", err)
	}
	c.Wait()
	if len(r.calls) != 0 || r.snapshot("a").Found() {
		t.Fatalf("a refused request reached replicas: %v, local %v", r.calls, r.snapshot("a").Values())
	}
	res, err := c.Write(context.Background(), two, quorum.WriteRequest{Key: []byte("k"), Value: []byte("v")})
	c.Wait()
	if err != nil || !slices.Equal(ackStrings(res.Acks), two) {
		t.Fatalf("default w with two replicas: %v, %v; want both acks (a majority of 2)", res.Acks, err)
	}
}
