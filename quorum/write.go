package quorum

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/ringkv/ringkv/vclock"
)

// WriteRequest is one client write at the coordinator.
type WriteRequest struct {
	Key       []byte
	Value     []byte
	Context   vclock.VV // what the client read; empty for a blind write
	Tombstone bool      // a delete
	W         int       // 0 selects the default quorum
}

// WriteResult is a write that met W.
type WriteResult struct {
	Set  vclock.Set // the version set the coordinator stored and sent
	Acks []Ack      // durable acknowledgements, in arrival order
}

// ackReply is one primary slot's outcome. acks[0] is the acknowledgement
// that counts toward W; the coordinator's own slot may add the hints it
// stored in the same step.
type ackReply struct {
	acks []Ack
	err  error
}

// Write applies req locally and replicates it to the key's primaries (the
// first N nodes of walk, the ring order from the key's partition, which
// must include this node: else it is refused with ErrNotReplica before
// anything is stored), answering once W distinct nodes stored it durably.
// With hinted handoff on, a primary that is suspected or fails is replaced
// by the next healthy node of walk beyond the primaries, which keeps the
// write as a hint; when none is reachable the coordinator keeps the hint
// itself.
func (c *Coordinator) Write(ctx context.Context, walk []string, req WriteRequest) (WriteResult, error) {
	return c.WriteRoute(ctx, WalkRoute(walk, c.cfg.N), req)
}

// WriteRoute is Write over a route from the agreed ring: the route's
// primaries are the replicas counted toward W, and its pending owners are
// also sent the write (see Route).
func (c *Coordinator) WriteRoute(ctx context.Context, rt Route, req WriteRequest) (WriteResult, error) {
	pl, w, err := c.place(rt, req.W)
	if err != nil {
		return WriteResult{}, err
	}
	set, waitDurable, err := c.cfg.Local.Update(ctx, req.Key, req.Context, req.Value, req.Tombstone)
	if err != nil {
		return WriteResult{}, err
	}
	calls := c.fanout(ctx)
	defer calls.release()
	// Sized for every reply the fan-out sends, so no call ever blocks
	// handing one over, whether or not the request is still collecting.
	replies := make(chan ackReply, pl.Replies())
	c.send(calls, pl, replies, req.Key, set.Encode(), waitDurable)
	t := NewTracker(w, pl.Replies())
	acks, cause := collectAcks(ctx, &t, replies, pl.Replies())
	if t.Outcome() != Met {
		return WriteResult{}, &WriteError{Acks: acks, W: w, Total: len(pl.Primaries), Cause: cause}
	}
	return WriteResult{Set: set, Acks: acks}, nil
}

// place validates W against the key's replicas and decides the placement.
func (c *Coordinator) place(rt Route, level int) (Placement, int, error) {
	w, err := CheckLevel("w", level, c.cfg.N, len(c.primaries(rt)))
	if err != nil {
		return Placement{}, 0, err
	}
	pl, err := PlaceRoute(rt, c.cfg.N, c.cfg.Self, c.cfg.Healthy, c.cfg.HintedHandoff)
	return pl, w, err
}

// send starts the write's replica calls: exactly one reply per slot of pl.
func (c *Coordinator) send(calls *fanout, pl Placement, replies chan<- ackReply, key, enc []byte, waitDurable func() error) {
	fb := &fallbacks{spare: pl.Spare, healthy: c.cfg.Healthy}
	for _, p := range pl.Refused {
		replies <- ackReply{[]Ack{{Node: p}}, fmt.Errorf("%s: %w", p, errSuspected)}
	}
	for _, h := range pl.Hinted {
		calls.spawn(func(ctx context.Context) { replies <- c.hintAt(ctx, fb, h.Fallback, h.Primary, key, enc) })
	}
	for _, p := range pl.Direct {
		calls.spawn(func(ctx context.Context) {
			ack, err := c.replicate(ctx, fb, p, key, enc)
			replies <- ackReply{[]Ack{ack}, err}
		})
	}
	for _, p := range pl.Extra {
		calls.spawn(func(ctx context.Context) { c.writePending(ctx, p, key, enc) })
	}
	calls.spawn(func(ctx context.Context) {
		// The local fsync runs while the replica writes are in flight; hints
		// this node keeps for suspected primaries share it, and ride in its
		// slot: they cannot add a node to W.
		replies <- c.storeHere(ctx, waitDurable, pl.KeepHere, key, enc)
	})
}

// writePending sends the write to pending owner p. It sends no reply: a
// pending owner counts toward nothing, and its failure is only counted.
func (c *Coordinator) writePending(ctx context.Context, p string, key, enc []byte) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.ReplicaTimeout)
	defer cancel()
	if err := c.cfg.Replicas.Write(actx, p, key, enc); err != nil {
		c.pendingMissed.Add(1)
	}
}

// storeHere is the coordinator's own slot: its local write becoming
// durable, plus the hints it keeps for suspected primaries.
func (c *Coordinator) storeHere(ctx context.Context, waitDurable func() error, hintsFor []string, key, enc []byte) ackReply {
	rep := ackReply{acks: []Ack{{Node: c.cfg.Self}}, err: waitDurable()}
	for _, p := range hintsFor {
		if err := c.cfg.Replicas.Hint(ctx, c.cfg.Self, p, key, enc); err == nil {
			rep.acks = append(rep.acks, Ack{Node: c.cfg.Self, HintFor: p})
		}
	}
	return rep
}

// replicate stores the write for healthy primary p: on p itself when it
// answers within ReplicaTimeout, else (with hinted handoff) as a hint.
func (c *Coordinator) replicate(ctx context.Context, fb *fallbacks, p string, key, enc []byte) (Ack, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.ReplicaTimeout)
	err := c.cfg.Replicas.Write(actx, p, key, enc)
	cancel()
	if err == nil || !c.cfg.HintedHandoff {
		return Ack{Node: p}, err
	}
	rep := c.hintAt(ctx, fb, fb.next(), p, key, enc)
	return rep.acks[0], rep.err
}

// hintAt stores the write for primary p as a hint on fallback f, then on
// the next fallbacks if f fails, and on this node when none is reachable.
func (c *Coordinator) hintAt(ctx context.Context, fb *fallbacks, f, p string, key, enc []byte) ackReply {
	for ; f != ""; f = fb.next() {
		actx, cancel := context.WithTimeout(ctx, c.cfg.ReplicaTimeout)
		err := c.cfg.Replicas.Hint(actx, f, p, key, enc)
		cancel()
		if err == nil {
			return ackReply{acks: []Ack{{Node: f, HintFor: p}}}
		}
	}
	err := c.cfg.Replicas.Hint(ctx, c.cfg.Self, p, key, enc)
	return ackReply{acks: []Ack{{Node: c.cfg.Self, HintFor: p}}, err: err}
}

// fallbacks hands out the spare fallbacks of a placement, each to one
// failing primary at most, skipping any that stopped being healthy since.
type fallbacks struct {
	mu      sync.Mutex
	spare   []string
	healthy func(string) bool
}

func (f *fallbacks) next() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.spare) > 0 {
		n := f.spare[0]
		f.spare = f.spare[1:]
		if f.healthy(n) {
			return n
		}
	}
	return ""
}

// collectAcks feeds acknowledgements into t until W is met, ctx ends, or
// every primary's slot answered. W counts distinct nodes: a node that
// stores a hint besides its own replica does not count twice. Once W can
// no longer be met it still waits for the slots that have not answered
// (bounded by ctx), so the error can say exactly what was acknowledged.
func collectAcks(ctx context.Context, t *Tracker, replies <-chan ackReply, n int) ([]Ack, error) {
	var acks []Ack
	var cause error
	for i := 0; i < n && t.Outcome() != Met; i++ {
		select {
		case r := <-replies:
			switch {
			case r.err != nil:
				cause = r.err
				t.Failed()
			case slices.ContainsFunc(acks, func(a Ack) bool { return a.Node == r.acks[0].Node }):
				acks = append(acks, r.acks...)
				t.Failed() // durable, but not on a new node
			default:
				acks = append(acks, r.acks...)
				t.Succeeded()
			}
		case <-ctx.Done():
			return acks, ctx.Err()
		}
	}
	if cause == nil && t.Outcome() != Met {
		cause = errors.New("not enough distinct nodes")
	}
	return acks, cause
}
