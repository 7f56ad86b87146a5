package quorum

import (
	"context"
	"errors"
	"time"

	"github.com/ringkv/ringkv/vclock"
)

// errSuspected answers for a replica the failure detector suspects.
var errSuspected = errors.New("replica suspected by the failure detector")

type readReply struct {
	node string
	set  vclock.Set
	err  error
}

// ReadResult is a read that met R.
type ReadResult struct {
	Set     vclock.Set // the sync of the replies received before answering
	Replied []string
}

// Read asks the key's primaries (the first N nodes of walk) for key and
// answers once r replied, merging their version sets; not found is a
// reply. Suspected primaries are not asked. After answering it waits up to
// ReadRepairWait for the rest and sends the merge of every reply to each
// replica whose copy differs (read repair).
func (c *Coordinator) Read(ctx context.Context, walk []string, key []byte, r int) (ReadResult, error) {
	return c.ReadRoute(ctx, WalkRoute(walk, c.cfg.N), key, r)
}

// ReadRoute is Read over a route from the agreed ring: only its primaries
// are asked; pending owners serve no reads.
func (c *Coordinator) ReadRoute(ctx context.Context, rt Route, key []byte, r int) (ReadResult, error) {
	primaries := c.primaries(rt)
	r, err := CheckLevel("r", r, c.cfg.N, len(primaries))
	if err != nil {
		return ReadResult{}, err
	}
	replies := make(chan readReply, len(primaries))
	calls := c.fanout(ctx)
	defer calls.release()
	for _, p := range primaries {
		if !c.cfg.Healthy(p) {
			replies <- readReply{node: p, err: errSuspected}
			continue
		}
		calls.spawn(func(ctx context.Context) {
			raw, err := c.cfg.Replicas.Read(ctx, p, key)
			rep := readReply{node: p, err: err}
			if err == nil && len(raw) > 0 {
				rep.set, rep.err = vclock.Decode(raw)
			}
			replies <- rep
		})
	}
	t := NewTracker(r, len(primaries))
	got := map[string]vclock.Set{}
	var res ReadResult
	var cause error
	for t.Outcome() == Pending {
		select {
		case rep := <-replies:
			if rep.err != nil {
				cause = rep.err
				t.Failed()
				continue
			}
			got[rep.node] = rep.set
			res.Set = vclock.Sync(res.Set, rep.set)
			res.Replied = append(res.Replied, rep.node)
			t.Succeeded()
		case <-ctx.Done():
			return ReadResult{}, &ReadError{Replied: res.Replied, R: r, Total: len(primaries), Cause: ctx.Err()}
		}
	}
	if t.Outcome() != Met {
		return ReadResult{}, &ReadError{Replied: res.Replied, R: r, Total: len(primaries), Cause: cause}
	}
	calls.spawn(func(ctx context.Context) {
		c.repair(ctx, key, got, replies, len(primaries)-t.Answered())
	})
	return res, nil
}

// repair collects up to pending more replies (for at most ReadRepairWait)
// and writes the merge to every replica that was behind.
func (c *Coordinator) repair(ctx context.Context, key []byte, got map[string]vclock.Set, replies <-chan readReply, pending int) {
	timer := time.NewTimer(c.cfg.ReadRepairWait)
	defer timer.Stop()
wait:
	for ; pending > 0; pending-- {
		select {
		case rep := <-replies:
			if rep.err == nil {
				got[rep.node] = rep.set
			}
		case <-timer.C:
			break wait
		case <-ctx.Done():
			return
		}
	}
	merged, stale := Stale(got)
	if len(stale) == 0 {
		return
	}
	enc := merged.Encode()
	for _, node := range stale {
		if err := c.cfg.Replicas.Write(ctx, node, key, enc); err == nil {
			c.readRepairs.Add(1)
		}
	}
}
