package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
)

// Limits of one replica stream, on the sending side.
const (
	// maxStreamPending bounds the operations queued or awaiting an answer
	// on one stream; past it, callers are refused at once rather than
	// queueing behind a peer that does not keep up.
	maxStreamPending = 8192
	// maxBatchBytes is the size past which a batch is cut, so one message
	// stays well inside the receiver's read limit.
	maxBatchBytes = 1 << 20
	// maxBatchesInFlight is how many batches may await answers at once.
	// Operations that arrive meanwhile queue for the next batch, so under
	// load batches grow and the per-operation cost of the transport
	// shrinks; two keep the stream busy while one is being answered.
	maxBatchesInFlight = 2
	// streamStall is how long a Send may block (the peer stopped reading
	// and HTTP/2 flow control is full), or the oldest batch in flight may
	// go unanswered, before the stream is torn down and its operations
	// fail. Far longer than any replica operation's deadline: a peer this
	// slow is stuck, not busy.
	streamStall = 5 * time.Second
)

// errStreamBusy refuses an operation when a stream has too many pending.
var errStreamBusy = errors.New("node: replica stream has too many operations pending")

type replicaBidi = connect.BidiStreamForClient[ringkvv1.ReplicaBatch, ringkvv1.ReplicaResults]

// replicaStream carries foreground replica operations to one peer on a
// long-lived bidi stream. Callers queue an operation and wait for its
// result. One sender goroutine sends batches: each takes whatever queued
// while the window of batches in flight was full (group commit: the busier
// the stream, the bigger the batches, and no timer ever holds an operation
// back). One receiver goroutine hands results to their callers by id. A
// stream that fails fails everything pending on it and takes no more
// operations; the next operation for the peer opens a new one.
type replicaStream struct {
	peer   string
	bidi   *replicaBidi
	cancel context.CancelFunc
	kick   chan struct{} // operations queued or a batch answered; capacity 1
	stall  time.Duration // see streamStall
	// answeredAny is set once the peer has answered anything: the stream
	// worked, whatever ended it later.
	answeredAny atomic.Bool

	mu      sync.Mutex
	nextID  uint64
	queue   []*streamOp          // waiting for the sender
	pending map[uint64]*streamOp // queued or sent, not yet answered
	flight  []*sentBatch         // sent, not yet fully answered, oldest first
	err     error                // why the stream ended; set once
	endedAt time.Time            // when it ended
}

// streamOp is one operation and its caller's mailbox.
type streamOp struct {
	op       ringkvv1.ReplicaOp
	deadline time.Time
	batch    *sentBatch    // the batch that carried it, once sent
	done     chan opResult // capacity 1
}

// sentBatch is a batch in flight.
type sentBatch struct {
	sent       time.Time
	unanswered int
}

type opResult struct {
	set []byte
	err error
}

// openStream starts a stream to peer through client, torn down after stall
// (see streamStall); wg owns its goroutines.
func openStream(parent context.Context, wg *sync.WaitGroup, peer string, client replicaStreamClient, stall time.Duration) *replicaStream {
	ctx, cancel := context.WithCancel(parent)
	s := &replicaStream{peer: peer, bidi: client.Stream(ctx), cancel: cancel, stall: stall,
		kick: make(chan struct{}, 1), pending: map[uint64]*streamOp{}}
	wg.Go(func() { s.send(ctx) })
	wg.Go(s.receive)
	return s
}

// replicaStreamClient is the part of the replica client a stream needs.
type replicaStreamClient interface {
	Stream(context.Context) *replicaBidi
}

// do runs one operation on the peer and waits for its result until ctx
// ends. An operation that ctx abandons may still be applied.
func (s *replicaStream) do(ctx context.Context, kind ringkvv1.ReplicaOp_Kind, target string, key, set []byte) ([]byte, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return nil, errors.New("node: replica operation without a deadline")
	}
	op := &streamOp{deadline: dl, done: make(chan opResult, 1)}
	op.op.Kind, op.op.Target, op.op.Key, op.op.Set = kind, target, key, set
	if err := s.enqueue(op); err != nil {
		return nil, err
	}
	select {
	case r := <-op.done:
		return r.set, r.err
	case <-ctx.Done():
		// The operation stays pending: its answer still counts toward its
		// batch, and a queued one past its deadline is never sent.
		return nil, ctx.Err()
	}
}

func (s *replicaStream) enqueue(op *streamOp) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if len(s.pending) >= maxStreamPending {
		return fmt.Errorf("%w (%d) for %s", errStreamBusy, maxStreamPending, s.peer)
	}
	s.nextID++
	op.op.Id = s.nextID
	s.pending[op.op.Id] = op
	s.queue = append(s.queue, op)
	s.wake()
	return nil
}

// wake tells the sender there may be something to send.
func (s *replicaStream) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// failure is when and why the stream ended; err is nil while it runs.
func (s *replicaStream) failure() (endedAt time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endedAt, s.err
}

// send writes batches until the stream ends.
func (s *replicaStream) send(ctx context.Context) {
	defer s.bidi.CloseRequest()
	blocked := time.AfterFunc(time.Hour, func() { s.fail(fmt.Errorf("send blocked for %v", s.stall)) })
	blocked.Stop()
	unanswered := time.NewTimer(time.Hour) // fires when the oldest batch in flight stalls
	unanswered.Stop()
	var armedFor time.Time // the batch unanswered is armed for
	msg := &ringkvv1.ReplicaBatch{}
	for {
		select {
		case <-s.kick:
		case <-unanswered.C:
		case <-ctx.Done():
			return
		}
		for {
			now := time.Now()
			var again bool
			var oldest time.Time
			msg.Ops, again, oldest = s.take(msg.Ops[:0], now)
			if !oldest.IsZero() && now.Sub(oldest) >= s.stall {
				s.fail(fmt.Errorf("a batch went unanswered for %v", s.stall))
				return
			}
			if len(msg.Ops) > 0 {
				blocked.Reset(s.stall)
				err := s.bidi.Send(msg)
				blocked.Stop()
				clear(msg.Ops)
				if err != nil {
					s.fail(err)
					return
				}
			}
			if !again {
				// Re-arm only for a new oldest batch: a timer left armed for
				// one since answered just wakes this loop once, harmlessly.
				if !oldest.IsZero() && !oldest.Equal(armedFor) {
					unanswered.Reset(oldest.Add(s.stall).Sub(now))
					armedFor = oldest
				}
				break
			}
		}
	}
}

// take moves the next batch from the queue into flight, if the window has
// room, appending its operations, with the time each has left, to ops.
// Operations already past their deadline are dropped: their callers have
// given up. again says whether more could be sent at once; oldest is when
// the oldest batch in flight was sent (zero: none is).
func (s *replicaStream) take(ops []*ringkvv1.ReplicaOp, now time.Time) (_ []*ringkvv1.ReplicaOp, again bool, oldest time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.flight) < maxBatchesInFlight {
		ops = s.takeLocked(ops, now)
	}
	if len(s.flight) > 0 {
		oldest = s.flight[0].sent
	}
	return ops, len(s.queue) > 0 && len(s.flight) < maxBatchesInFlight, oldest
}

func (s *replicaStream) takeLocked(ops []*ringkvv1.ReplicaOp, now time.Time) []*ringkvv1.ReplicaOp {
	b := &sentBatch{sent: now}
	size, i := 0, 0
	for ; i < len(s.queue) && len(ops) < maxStreamBatchOps; i++ {
		op := s.queue[i]
		n := len(op.op.Key) + len(op.op.Set)
		if len(ops) > 0 && size+n > maxBatchBytes {
			break
		}
		left := op.deadline.Sub(now)
		if left <= 0 {
			delete(s.pending, op.op.Id)
			continue
		}
		op.op.TimeoutUs = left.Microseconds()
		op.batch = b
		ops = append(ops, &op.op)
		size += n
	}
	rest := copy(s.queue, s.queue[i:])
	clear(s.queue[rest:])
	s.queue = s.queue[:rest]
	if len(ops) > 0 {
		b.unanswered = len(ops)
		s.flight = append(s.flight, b)
	}
	return ops
}

// receive hands results to their callers until the stream ends.
func (s *replicaStream) receive() {
	defer s.bidi.CloseResponse()
	for {
		msg, err := s.bidi.Receive()
		if err != nil {
			s.fail(err)
			return
		}
		s.answeredAny.Store(true)
		s.mu.Lock()
		for _, r := range msg.GetResults() {
			if op, ok := s.pending[r.GetId()]; ok {
				delete(s.pending, r.GetId())
				op.done <- resultOf(r)
				s.answered(op.batch)
			}
		}
		s.mu.Unlock()
	}
}

// answered counts one answer to b and lands b when it was the last.
func (s *replicaStream) answered(b *sentBatch) {
	if b == nil {
		return
	}
	if b.unanswered--; b.unanswered > 0 {
		return
	}
	for i, f := range s.flight {
		if f == b {
			s.flight = append(s.flight[:i], s.flight[i+1:]...)
			break
		}
	}
	s.wake()
}

func resultOf(r *ringkvv1.ReplicaResult) opResult {
	if r.GetCode() == 0 {
		return opResult{set: r.GetSet()}
	}
	return opResult{err: connect.NewError(connect.Code(r.GetCode()), errors.New(r.GetError()))}
}

// fail ends the stream: every pending operation fails with err, and new
// ones are refused.
func (s *replicaStream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	s.err = fmt.Errorf("node: replica stream to %s: %w", s.peer, err)
	s.endedAt = time.Now()
	for id, op := range s.pending {
		op.done <- opResult{err: s.err}
		delete(s.pending, id)
	}
	s.queue, s.flight = nil, nil
	s.cancel()
}
