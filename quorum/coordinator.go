package quorum

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ringkv/ringkv/vclock"
)

// Replicas is how the coordinator reaches a key's replicas, including
// itself. Implementations must honour ctx's deadline.
type Replicas interface {
	// Read returns the replica's encoded version set for key, or nil when
	// it holds none.
	Read(ctx context.Context, node string, key []byte) ([]byte, error)
	// Write merges an encoded version set into the replica's copy and
	// returns once it is durable.
	Write(ctx context.Context, node string, key, set []byte) error
}

// Local applies a client write at the coordinating replica: read the
// current version set, drop what the context covers, mint a new dot, store
// it and return the result. The write is durable once waitDurable returns
// nil; the coordinator calls it exactly once, while the other replicas'
// writes are in flight, so the local fsync overlaps the fan-out.
type Local interface {
	Update(ctx context.Context, key []byte, wctx vclock.VV, value []byte, tombstone bool) (set vclock.Set, waitDurable func() error, err error)
}

// Config configures a Coordinator.
type Config struct {
	Self     string        // this node's id
	N        int           // replication factor
	Replicas Replicas      // transport to every replica
	Local    Local         // this node's storage
	Timeout  time.Duration // deadline for requests that arrive without one; 0 → 5s
}

// Coordinator fans requests out to replicas and decides when a quorum is
// met. Background replica writes that outlive a request are owned by the
// Coordinator; Wait blocks until they are done.
type Coordinator struct {
	cfg Config
	bg  sync.WaitGroup
}

// New returns a Coordinator.
func New(cfg Config) *Coordinator {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &Coordinator{cfg: cfg}
}

// Wait blocks until every replica call started by earlier requests ended.
// Each has a deadline, so Wait is bounded.
func (c *Coordinator) Wait() { c.bg.Wait() }

// detached returns a context that keeps ctx's values and deadline but is not
// cancelled when ctx is, so replica calls outlive the answer to the client.
func (c *Coordinator) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(c.cfg.Timeout)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), dl)
}

type reply struct {
	node string
	set  []byte
	err  error
}

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
	Acks []string   // replicas that acknowledged durably, in order
}

// Write applies req locally and replicates it to the rest of prefs (the
// key's replicas, which must include this node), answering once W have
// acknowledged.
func (c *Coordinator) Write(ctx context.Context, prefs []string, req WriteRequest) (WriteResult, error) {
	w, err := CheckLevel("w", req.W, c.cfg.N)
	if err != nil {
		return WriteResult{}, err
	}
	set, waitDurable, err := c.cfg.Local.Update(ctx, req.Key, req.Context, req.Value, req.Tombstone)
	if err != nil {
		return WriteResult{}, err
	}
	enc := set.Encode()
	t := NewTracker(w, len(prefs))
	replies := make(chan reply, len(prefs))
	for _, node := range prefs {
		if node == c.cfg.Self {
			continue
		}
		c.spawn(ctx, replies, node, func(ctx context.Context) ([]byte, error) {
			return nil, c.cfg.Replicas.Write(ctx, node, req.Key, enc)
		})
	}
	// The local fsync runs while the replica writes are in flight.
	c.spawn(ctx, replies, c.cfg.Self, func(context.Context) ([]byte, error) { return nil, waitDurable() })
	acks, cause := collect(ctx, &t, replies, len(prefs), nil)
	if t.Outcome() != Met {
		return WriteResult{}, &WriteError{Acks: acks, W: w, Total: len(prefs), Cause: cause}
	}
	return WriteResult{Set: set, Acks: acks}, nil
}

// spawn runs one replica call under a detached deadline and sends its reply.
func (c *Coordinator) spawn(ctx context.Context, out chan<- reply, node string, call func(context.Context) ([]byte, error)) {
	dctx, cancel := c.detached(ctx)
	c.bg.Go(func() {
		defer cancel()
		set, err := call(dctx)
		out <- reply{node: node, set: set, err: err}
	})
}

// collect feeds replies into t until W is met, ctx ends, or every replica
// answered. Once W can no longer be met it still waits for the replicas
// that have not answered (bounded by ctx), so the error can say exactly how
// many acknowledged. It returns the ids that succeeded and the last failure.
func collect(ctx context.Context, t *Tracker, replies <-chan reply, n int, ok []string) ([]string, error) {
	var cause error
	for i := 0; i < n && t.Outcome() != Met; i++ {
		select {
		case r := <-replies:
			if r.err != nil {
				cause = r.err
				t.Failed()
				continue
			}
			ok = append(ok, r.node)
			t.Succeeded()
		case <-ctx.Done():
			return ok, ctx.Err()
		}
	}
	if cause == nil && t.Outcome() == Failed {
		cause = errors.New("not enough replicas")
	}
	return ok, cause
}

// ReadResult is a read that met R.
type ReadResult struct {
	Set     vclock.Set // the sync of every reply received
	Replied []string
}

// Read asks every replica in prefs for key and answers once r replied,
// merging their version sets. A replica that does not hold the key replies
// with an empty set.
func (c *Coordinator) Read(ctx context.Context, prefs []string, key []byte, r int) (ReadResult, error) {
	r, err := CheckLevel("r", r, c.cfg.N)
	if err != nil {
		return ReadResult{}, err
	}
	t := NewTracker(r, len(prefs))
	replies := make(chan reply, len(prefs))
	for _, node := range prefs {
		c.spawn(ctx, replies, node, func(ctx context.Context) ([]byte, error) {
			return c.cfg.Replicas.Read(ctx, node, key)
		})
	}
	var res ReadResult
	var cause error
	for i := 0; i < len(prefs) && t.Outcome() == Pending; i++ {
		select {
		case rep := <-replies:
			if err := res.merge(rep); err != nil {
				cause = err
				t.Failed()
				continue
			}
			t.Succeeded()
		case <-ctx.Done():
			return ReadResult{}, &ReadError{Replied: res.Replied, R: r, Total: len(prefs), Cause: ctx.Err()}
		}
	}
	if t.Outcome() != Met {
		return ReadResult{}, &ReadError{Replied: res.Replied, R: r, Total: len(prefs), Cause: cause}
	}
	return res, nil
}

func (res *ReadResult) merge(rep reply) error {
	if rep.err != nil {
		return rep.err
	}
	if len(rep.set) > 0 {
		s, err := vclock.Decode(rep.set)
		if err != nil {
			return err
		}
		res.Set = vclock.Sync(res.Set, s)
	}
	res.Replied = append(res.Replied, rep.node)
	return nil
}
