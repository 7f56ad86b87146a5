package opstream

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
)

// ErrBusy refuses an operation when a stream has too many pending.
var ErrBusy = errors.New("opstream: too many operations pending on the stream")

// Client is the sending half of one stream. Callers queue an operation and
// wait for its result. One sender goroutine sends batches; one receiver
// goroutine hands results to their callers by id. A stream that fails
// fails everything pending on it and takes no more operations: open a new
// one (Slot does, with backoff).
type Client[B, Op, Rs, Res any] struct {
	p      *Protocol[B, Op, Rs, Res]
	peer   string
	bidi   *connect.BidiStreamForClient[B, Rs]
	cancel context.CancelFunc
	kick   chan struct{} // operations queued or a batch answered; capacity 1
	stall  time.Duration // see DefaultStall
	// watchdog fires when the peer may be stuck (see watch).
	watchdog *time.Timer
	window   int // see Protocol.Window
	// answeredAny is set once the peer has answered anything: the stream
	// worked, whatever ended it later.
	answeredAny atomic.Bool

	mu      sync.Mutex
	nextID  uint64
	queue   []*call[Op, Res]          // waiting for the sender
	pending map[uint64]*call[Op, Res] // queued or sent, not yet answered
	flight  []*sentBatch              // sent, not yet fully answered, oldest first
	unread  int                       // batches in flight with no answer yet
	latest  time.Time                 // the latest deadline in flight
	heard   time.Time                 // when the peer last answered
	err     error                     // why the stream ended; set once
	endedAt time.Time                 // when it ended
}

// call is one operation and its caller's mailbox.
type call[Op, Res any] struct {
	op       *Op
	id       uint64
	size     int
	deadline time.Time
	batch    *sentBatch        // the batch that carried it, once sent
	done     chan outcome[Res] // capacity 1
}

type outcome[Res any] struct {
	res *Res
	err error
}

// sentBatch is a batch in flight.
type sentBatch struct {
	expires    time.Time // the latest deadline of its operations
	unanswered int
	started    bool // some answer came: the peer has read it
}

// Open starts a stream to peer (a name for errors) through open, torn
// down when the peer leaves every operation in flight unanswered stall
// past its deadline (see DefaultStall); wg owns its goroutines, which end
// when ctx does or the stream fails.
func Open[B, Op, Rs, Res any](ctx context.Context, wg *sync.WaitGroup, p *Protocol[B, Op, Rs, Res], peer string,
	open func(context.Context) *connect.BidiStreamForClient[B, Rs], stall time.Duration) *Client[B, Op, Rs, Res] {
	ctx, cancel := context.WithCancel(ctx)
	c := &Client[B, Op, Rs, Res]{p: p, peer: peer, bidi: open(ctx), cancel: cancel, stall: stall,
		window: p.Window, kick: make(chan struct{}, 1), pending: map[uint64]*call[Op, Res]{}}
	if c.window <= 0 {
		c.window = maxBatchesInFlight
	}
	c.watchdog = time.AfterFunc(time.Hour, c.watch)
	c.watchdog.Stop()
	wg.Go(func() { c.send(ctx) })
	wg.Go(c.receive)
	return c
}

// Do runs op on the peer and waits for its result until ctx ends. op
// belongs to the stream from then on (it sets op's id and time left, and
// may send it after Do has returned): do not reuse it. An operation that
// ctx abandons may still be applied.
func (c *Client[B, Op, Rs, Res]) Do(ctx context.Context, op *Op) (*Res, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(MaxTimeout)
	}
	k := &call[Op, Res]{op: op, size: c.p.OpSize(op), deadline: dl, done: make(chan outcome[Res], 1)}
	if err := c.enqueue(k); err != nil {
		return nil, err
	}
	select {
	case r := <-k.done:
		return r.res, r.err
	case <-ctx.Done():
		// The operation stays pending: its answer still counts toward its
		// batch, and a queued one past its deadline is never sent.
		return nil, ctx.Err()
	}
}

func (c *Client[B, Op, Rs, Res]) enqueue(k *call[Op, Res]) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if len(c.pending) >= maxPending {
		return fmt.Errorf("%w (%d) to %s", ErrBusy, maxPending, c.peer)
	}
	c.nextID++
	k.id = c.nextID
	c.pending[k.id] = k
	c.queue = append(c.queue, k)
	c.wake()
	return nil
}

// wake tells the sender there may be something to send.
func (c *Client[B, Op, Rs, Res]) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Queued is how many operations wait to be sent.
func (c *Client[B, Op, Rs, Res]) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// Failure is when and why the stream ended; err is nil while it runs.
func (c *Client[B, Op, Rs, Res]) Failure() (endedAt time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endedAt, c.err
}

// send writes batches until the stream ends. A peer that stops reading
// blocks Send under HTTP/2 flow control; the watchdog unblocks it by
// failing the stream once the peer is stuck.
func (c *Client[B, Op, Rs, Res]) send(ctx context.Context) {
	defer c.bidi.CloseRequest()
	var ops []*Op
	for {
		select {
		case <-c.kick:
		case <-ctx.Done():
			return
		}
		// Yield once before taking a batch, so callers already runnable
		// (woken by the answers that freed the window, say) queue theirs
		// and ride in it; see server.flush.
		runtime.Gosched()
		for again := true; again; {
			ops, again = c.take(ops[:0], time.Now())
			if len(ops) == 0 {
				continue
			}
			err := c.bidi.Send(c.p.NewBatch(ops))
			clear(ops)
			if err != nil {
				c.fail(err)
				return
			}
		}
	}
}

// take moves the next batch from the queue into flight, if the window has
// room, appending its operations, with the time each has left, to ops.
// Operations already past their deadline are dropped: their callers have
// given up. again says whether more could be sent at once.
func (c *Client[B, Op, Rs, Res]) take(ops []*Op, now time.Time) (_ []*Op, again bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unread < c.window {
		ops = c.takeLocked(ops, now)
	}
	return ops, len(c.queue) > 0 && c.unread < c.window
}

func (c *Client[B, Op, Rs, Res]) takeLocked(ops []*Op, now time.Time) []*Op {
	b := &sentBatch{}
	size, i := 0, 0
	for ; i < len(c.queue) && len(ops) < MaxBatchOps; i++ {
		k := c.queue[i]
		if len(ops) > 0 && size+k.size > maxBatchBytes {
			break
		}
		left := k.deadline.Sub(now)
		if left <= 0 {
			delete(c.pending, k.id)
			continue
		}
		c.p.SetHeader(k.op, k.id, min(left, MaxTimeout).Microseconds())
		k.batch = b
		if k.deadline.After(b.expires) {
			b.expires = k.deadline
		}
		ops = append(ops, k.op)
		size += k.size
	}
	rest := copy(c.queue, c.queue[i:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	if len(ops) > 0 {
		b.unanswered = len(ops)
		c.flight = append(c.flight, b)
		c.unread++
		if b.expires.After(c.latest) {
			c.latest = b.expires
			c.watchdog.Reset(c.stuckAtLocked().Sub(now))
		}
	}
	return ops
}

// receive hands results to their callers until the stream ends.
func (c *Client[B, Op, Rs, Res]) receive() {
	defer c.bidi.CloseResponse()
	for {
		msg, err := c.bidi.Receive()
		if err != nil {
			c.fail(err)
			return
		}
		c.answeredAny.Store(true)
		c.mu.Lock()
		c.heard = time.Now()
		for _, r := range c.p.Results(msg) {
			id := c.p.ResultID(r)
			if k, ok := c.pending[id]; ok {
				delete(c.pending, id)
				k.done <- outcome[Res]{res: r}
				c.answered(k.batch)
			}
		}
		c.mu.Unlock()
	}
}

// answered counts one answer to b. The first answer frees b's place in
// the window: the peer has read b, and one slow operation in it must not
// hold back those queued behind. The last lands b.
func (c *Client[B, Op, Rs, Res]) answered(b *sentBatch) {
	if b == nil {
		return
	}
	if !b.started {
		b.started = true
		c.unread--
		c.wake()
	}
	if b.unanswered--; b.unanswered > 0 {
		return
	}
	for i, f := range c.flight {
		if f == b {
			c.flight = append(c.flight[:i], c.flight[i+1:]...)
			break
		}
	}
	if b.expires.Equal(c.latest) {
		c.rewatchLocked()
	}
	c.wake()
}

// rewatchLocked sets the watchdog for the latest deadline still in flight,
// or stops it when nothing is.
func (c *Client[B, Op, Rs, Res]) rewatchLocked() {
	c.latest = time.Time{}
	for _, f := range c.flight {
		if f.expires.After(c.latest) {
			c.latest = f.expires
		}
	}
	if c.latest.IsZero() {
		c.watchdog.Stop()
		return
	}
	c.watchdog.Reset(time.Until(c.stuckAtLocked()))
}

// stuckAtLocked is when the peer is stuck if it answers nothing more:
// stall after the later of its last answer and the latest deadline in
// flight.
func (c *Client[B, Op, Rs, Res]) stuckAtLocked() time.Time {
	if c.heard.After(c.latest) {
		return c.heard.Add(c.stall)
	}
	return c.latest.Add(c.stall)
}

// watch fails the stream once the peer is stuck: every operation in
// flight is stall past its deadline, unanswered, and the peer has answered
// nothing else for stall either. A served operation is answered by its
// deadline (an expired one with DeadlineExceeded), so such a peer is not
// just slow; and no operation sent is failed while its deadline, or any
// other in flight, has yet to pass.
func (c *Client[B, Op, Rs, Res]) watch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch wait := time.Until(c.stuckAtLocked()); {
	case c.latest.IsZero() || c.err != nil:
	case wait > 0:
		c.watchdog.Reset(wait) // an answer came, or a later deadline went out
	default:
		c.failLocked(fmt.Errorf("operations in flight went unanswered %v past their deadlines, and nothing else was answered", c.stall))
	}
}

// fail ends the stream: every pending operation fails with err, and new
// ones are refused.
func (c *Client[B, Op, Rs, Res]) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(err)
}

func (c *Client[B, Op, Rs, Res]) failLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = fmt.Errorf("%s to %s: %w", c.p.Name, c.peer, err)
	c.endedAt = time.Now()
	for id, k := range c.pending {
		k.done <- outcome[Res]{err: c.err}
		delete(c.pending, id)
	}
	c.queue, c.flight, c.unread, c.latest = nil, nil, 0, time.Time{}
	c.watchdog.Stop()
	c.cancel()
}
