package quorum

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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
	// Hint stores set durably at node as a hint for target, to be handed
	// off when target is healthy again. node may be the coordinator itself.
	Hint(ctx context.Context, node, target string, key, set []byte) error
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
	Self     string   // this node's id
	N        int      // replication factor
	Replicas Replicas // transport to every replica
	Local    Local    // this node's storage
	// Healthy says whether a node should be sent requests (not suspected
	// by the failure detector). nil treats every node as healthy.
	Healthy func(node string) bool
	// HintedHandoff enables the sloppy quorum: a write for a suspected or
	// failing primary goes to a fallback node as a hint instead.
	HintedHandoff bool
	// Timeout is the deadline of requests that arrive without one; 0 → 5s.
	Timeout time.Duration
	// ReplicaTimeout bounds one attempt to write to a primary before the
	// write falls back to a hint; 0 → 1s. Shorter reroutes around a
	// stalled node sooner; longer avoids hinting for a merely slow one.
	ReplicaTimeout time.Duration
	// ReadRepairWait is how long, after a read has answered, the
	// coordinator keeps waiting for the remaining replicas before deciding
	// read repair; 0 → 500ms.
	ReadRepairWait time.Duration
}

// Coordinator fans requests out to replicas and decides when a quorum is
// met. Background replica calls that outlive a request are owned by the
// Coordinator; Wait blocks until they are done.
type Coordinator struct {
	cfg         Config
	bg          sync.WaitGroup // replica calls in flight
	workers     *pool          // the goroutines that run them
	readRepairs atomic.Uint64
	// pendingMissed counts writes a pending owner did not store.
	pendingMissed atomic.Uint64
}

// New returns a Coordinator.
func New(cfg Config) *Coordinator {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ReplicaTimeout <= 0 {
		cfg.ReplicaTimeout = time.Second
	}
	if cfg.ReadRepairWait <= 0 {
		cfg.ReadRepairWait = 500 * time.Millisecond
	}
	if cfg.Healthy == nil {
		cfg.Healthy = func(string) bool { return true }
	}
	return &Coordinator{cfg: cfg, workers: newPool()}
}

// Wait blocks until every replica call started by earlier requests ended,
// and ends the goroutines kept to run them. Each call has a deadline, so
// Wait is bounded. Call it once requests have stopped; the Coordinator
// stays usable.
func (c *Coordinator) Wait() {
	c.bg.Wait()
	c.workers.drain()
}

// ReadRepairs counts the replica writes read repair has sent.
func (c *Coordinator) ReadRepairs() uint64 { return c.readRepairs.Load() }

// PendingMissed counts writes sent to a pending owner that failed: they
// counted for nothing, and the owner's transfer must cover them.
func (c *Coordinator) PendingMissed() uint64 { return c.pendingMissed.Load() }

// detached returns a context that keeps ctx's values and deadline but is not
// cancelled when ctx is, so replica calls outlive the answer to the client.
func (c *Coordinator) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(c.cfg.Timeout)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), dl)
}

// Ack is one node's durable acknowledgement of a write.
type Ack struct {
	Node    string // the node that stored the write
	HintFor string // set when Node stored it as a hint for this primary
}

func (a Ack) String() string {
	if a.HintFor == "" {
		return a.Node
	}
	return fmt.Sprintf("%s (hint for %s)", a.Node, a.HintFor)
}

// fanout is one request's replica calls. They share one context that keeps
// the request's deadline but not its cancellation, so calls outlive the
// answer to the client; it is released when the request and every call it
// spawned have returned. The calls are owned by the Coordinator.
type fanout struct {
	c      *Coordinator
	ctx    context.Context
	cancel context.CancelFunc
	refs   atomic.Int32 // the request itself, plus each live call
}

func (c *Coordinator) fanout(ctx context.Context) *fanout {
	dctx, cancel := c.detached(ctx)
	f := &fanout{c: c, ctx: dctx, cancel: cancel}
	f.refs.Store(1)
	return f
}

// spawn runs one replica call under the shared context.
func (f *fanout) spawn(call func(context.Context)) {
	f.refs.Add(1)
	f.c.bg.Add(1)
	f.c.workers.run(func() {
		defer f.c.bg.Done()
		defer f.release()
		call(f.ctx)
	})
}

// release drops one reference; the request calls it once it has answered.
func (f *fanout) release() {
	if f.refs.Add(-1) == 0 {
		f.cancel()
	}
}
