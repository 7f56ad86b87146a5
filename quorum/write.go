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
// must include this node), answering once W distinct nodes stored it
// durably. With hinted handoff on, a primary that is suspected or fails is
// replaced by the next healthy node of walk beyond the primaries, which
// keeps the write as a hint; when none is reachable the coordinator keeps
// the hint itself.
func (c *Coordinator) Write(ctx context.Context, walk []string, req WriteRequest) (WriteResult, error) {
	w, err := CheckLevel("w", req.W, c.cfg.N)
	if err != nil {
		return WriteResult{}, err
	}
	set, waitDurable, err := c.cfg.Local.Update(ctx, req.Key, req.Context, req.Value, req.Tombstone)
	if err != nil {
		return WriteResult{}, err
	}
	primaries := c.primaries(walk)
	fb := &fallbacks{walk: walk[len(primaries):], healthy: c.cfg.Healthy}
	calls := c.fanout(ctx)
	defer calls.release()
	enc := set.Encode()
	replies := make(chan ackReply, len(primaries))
	var keepHere []string // suspected primaries with no free fallback
	for _, p := range primaries {
		if p == c.cfg.Self {
			continue
		}
		if !c.cfg.Healthy(p) && !c.cfg.HintedHandoff {
			replies <- ackReply{[]Ack{{Node: p}}, fmt.Errorf("%s: %w", p, errSuspected)}
			continue
		}
		if !c.cfg.Healthy(p) {
			if f := fb.next(); f != "" {
				calls.spawn(func(ctx context.Context) { replies <- c.hintAt(ctx, fb, f, p, req.Key, enc) })
			} else {
				keepHere = append(keepHere, p)
			}
			continue
		}
		calls.spawn(func(ctx context.Context) {
			ack, err := c.replicate(ctx, fb, p, req.Key, enc)
			replies <- ackReply{[]Ack{ack}, err}
		})
	}
	calls.spawn(func(ctx context.Context) {
		// The local fsync runs while the replica writes are in flight; hints
		// this node keeps for suspected primaries share it.
		replies <- c.storeHere(ctx, waitDurable, keepHere, req.Key, enc)
	})
	// Hints kept here ride in this node's slot and cannot add a node to W.
	slots := len(primaries) - len(keepHere)
	t := NewTracker(w, slots)
	acks, cause := collectAcks(ctx, &t, replies, slots)
	if t.Outcome() != Met {
		return WriteResult{}, &WriteError{Acks: acks, W: w, Total: len(primaries), Cause: cause}
	}
	return WriteResult{Set: set, Acks: acks}, nil
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

// fallbacks hands out the healthy nodes past the preference list, each to
// one missing primary at most.
type fallbacks struct {
	mu      sync.Mutex
	walk    []string
	healthy func(string) bool
}

func (f *fallbacks) next() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.walk) > 0 {
		n := f.walk[0]
		f.walk = f.walk[1:]
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
