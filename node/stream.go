package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	// streamStall is how long one Send may block (the peer stopped reading
	// and HTTP/2 flow control is full) before the stream is torn down and
	// its operations fail.
	streamStall = 5 * time.Second
)

// errStreamBusy refuses an operation when a stream has too many pending.
var errStreamBusy = errors.New("node: replica stream has too many operations pending")

type replicaBidi = connect.BidiStreamForClient[ringkvv1.ReplicaBatch, ringkvv1.ReplicaResults]

// replicaStream carries foreground replica operations to one peer on a
// long-lived bidi stream. Callers queue an operation and wait for its
// result. One sender goroutine sends whatever queued while its previous
// message was being written (group commit: the busier the stream, the
// bigger the batches, and no timer ever holds an operation back); one
// receiver goroutine hands results to their callers by id. A stream that
// fails fails everything pending on it and takes no more operations; the
// next operation for the peer opens a new one.
type replicaStream struct {
	peer   string
	bidi   *replicaBidi
	cancel context.CancelFunc
	kick   chan struct{} // operations are queued; capacity 1

	mu      sync.Mutex
	nextID  uint64
	queue   []*streamOp          // waiting for the sender
	pending map[uint64]*streamOp // queued or sent, not yet answered
	err     error                // why the stream ended; set once
}

// streamOp is one operation and its caller's mailbox.
type streamOp struct {
	op       ringkvv1.ReplicaOp
	deadline time.Time
	done     chan opResult // capacity 1
}

type opResult struct {
	set []byte
	err error
}

// openStream starts a stream to peer through client; wg owns its goroutines.
func openStream(parent context.Context, wg *sync.WaitGroup, peer string, client replicaStreamClient) *replicaStream {
	ctx, cancel := context.WithCancel(parent)
	s := &replicaStream{peer: peer, bidi: client.Stream(ctx), cancel: cancel,
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
	id, err := s.enqueue(op)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-op.done:
		return r.set, r.err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (s *replicaStream) enqueue(op *streamOp) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	if len(s.pending) >= maxStreamPending {
		return 0, fmt.Errorf("%w (%d) for %s", errStreamBusy, maxStreamPending, s.peer)
	}
	s.nextID++
	op.op.Id = s.nextID
	s.pending[op.op.Id] = op
	s.queue = append(s.queue, op)
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return op.op.Id, nil
}

// failed reports whether the stream ended.
func (s *replicaStream) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// send writes batches until the stream ends. A Send blocked longer than
// streamStall tears the stream down.
func (s *replicaStream) send(ctx context.Context) {
	defer s.bidi.CloseRequest()
	stall := time.AfterFunc(time.Hour, func() { s.fail(fmt.Errorf("send blocked for %v", streamStall)) })
	stall.Stop()
	var queued []*streamOp // swapped with s.queue, so both buffers are reused
	msg := &ringkvv1.ReplicaBatch{}
	for {
		select {
		case <-s.kick:
		case <-ctx.Done():
			return
		}
		s.mu.Lock()
		queued, s.queue = s.queue, queued[:0]
		s.mu.Unlock()
		for rest := queued; len(rest) > 0; {
			var n int
			msg.Ops, n = nextBatch(msg.Ops[:0], rest, time.Now())
			rest = rest[n:]
			if len(msg.Ops) == 0 {
				continue
			}
			stall.Reset(streamStall)
			err := s.bidi.Send(msg)
			stall.Stop()
			if err != nil {
				s.fail(err)
				return
			}
		}
		clear(queued)
		clear(msg.Ops[:cap(msg.Ops)])
	}
}

// nextBatch appends to ops the operations from the front of queue that fit
// one message, with the time each has left, and says how many of queue it
// took. Operations already past their deadline are dropped: their callers
// have given up.
func nextBatch(ops []*ringkvv1.ReplicaOp, queue []*streamOp, now time.Time) ([]*ringkvv1.ReplicaOp, int) {
	size, i := 0, 0
	for ; i < len(queue) && len(ops) < maxStreamBatchOps; i++ {
		op := queue[i]
		n := len(op.op.Key) + len(op.op.Set)
		if len(ops) > 0 && size+n > maxBatchBytes {
			break
		}
		left := op.deadline.Sub(now)
		if left <= 0 {
			continue
		}
		op.op.TimeoutUs = left.Microseconds()
		ops = append(ops, &op.op)
		size += n
	}
	return ops, i
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
		s.mu.Lock()
		for _, r := range msg.GetResults() {
			op, ok := s.pending[r.GetId()]
			if !ok {
				continue // its caller gave up
			}
			delete(s.pending, r.GetId())
			op.done <- resultOf(r)
		}
		s.mu.Unlock()
	}
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
	for id, op := range s.pending {
		op.done <- opResult{err: s.err}
		delete(s.pending, id)
	}
	s.queue = nil
	s.cancel()
}
