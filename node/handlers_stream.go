package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
)

// Limits of one replica stream, on the receiving side.
const (
	// maxStreamBatchOps bounds the operations in one message.
	maxStreamBatchOps = 4096
	// maxStreamInFlight bounds the operations one stream applies at once;
	// past it the receiver stops reading and HTTP/2 flow control holds the
	// sender back.
	maxStreamInFlight = 1024
	// maxResultBytes is the size past which a results message is cut, so
	// answers to big reads do not pile into one message.
	maxResultBytes = 1 << 20
	// maxOpTimeoutUs caps the time an operation says it has left (an hour).
	maxOpTimeoutUs = int64(time.Hour / time.Microsecond)
)

// Stream serves one peer's replica stream. Operations run concurrently on
// the stream's workers, so one slow apply does not hold up those behind
// it, and concurrent writes share Pebble's fsyncs. This goroutine writes the
// results: each message carries every result that completed while the
// previous one was being written. When the server shuts down, the stream
// stops taking operations, answers those in flight and ends.
func (h replicaHandler) Stream(ctx context.Context, st *connect.BidiStream[ringkvv1.ReplicaBatch, ringkvv1.ReplicaResults]) error {
	s := &streamServer{n: h.n, kick: make(chan struct{}, 1), sem: make(chan struct{}, maxStreamInFlight),
		work: make(chan streamJob, maxStreamInFlight)}
	// The reader may outlive this handler by a moment when the server
	// drains: net/http closes the request body once the handler returns,
	// which ends its Receive; the buffered channel never blocks it.
	received := make(chan error, 1)
	go func() { received <- s.receive(st) }()
	for {
		select {
		case <-s.kick:
			if err := s.flush(st); err != nil {
				s.stop()
				return err
			}
		case err := <-received:
			s.stop()
			if ferr := s.flush(st); err == nil {
				err = ferr
			}
			return err
		case <-h.n.draining:
			s.stop()
			return s.flush(st)
		}
	}
}

// streamServer is the state of one served replica stream.
type streamServer struct {
	n    *Node
	kick chan struct{}  // results are waiting; capacity 1
	sem  chan struct{}  // operations in flight
	work chan streamJob // operations for the workers; as big as sem

	mu      sync.Mutex
	stopped bool // no new operations start; work is closed
	idle    int  // workers waiting for work
	workers sync.WaitGroup
	results []*ringkvv1.ReplicaResult
}

// streamJob is one operation for a worker.
type streamJob struct {
	op       *ringkvv1.ReplicaOp
	deadline time.Time
}

// receive reads batches and starts their operations until the stream ends
// or the handler stops. It returns nil when the peer closed the stream.
func (s *streamServer) receive(st *connect.BidiStream[ringkvv1.ReplicaBatch, ringkvv1.ReplicaResults]) error {
	for {
		batch, err := st.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		ops := batch.GetOps()
		if len(ops) > maxStreamBatchOps {
			return connect.NewError(connect.CodeInvalidArgument,
				fmt.Errorf("replica batch has %d operations; the limit is %d", len(ops), maxStreamBatchOps))
		}
		s.n.metrics.streamBatch.Observe(float64(len(ops)))
		now := time.Now()
		for _, op := range ops {
			s.sem <- struct{}{}
			// Clamped, so no value a peer sends overflows the deadline.
			left := time.Duration(min(max(op.GetTimeoutUs(), 0), maxOpTimeoutUs)) * time.Microsecond
			if !s.start(op, now.Add(left)) {
				<-s.sem
				return nil
			}
		}
	}
}

// start hands op to a worker unless the stream has stopped. Workers live
// as long as the stream, so their stacks, grown once by Pebble's deep
// calls, are not grown again for every operation; a new one starts only
// when none is idle.
func (s *streamServer) start(op *ringkvv1.ReplicaOp, deadline time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.work <- streamJob{op, deadline} // never blocks: the caller holds a sem slot
	if s.idle == 0 {
		s.workers.Go(s.worker)
	} else {
		s.idle--
	}
	return true
}

// worker runs operations until the stream stops.
func (s *streamServer) worker() {
	for j := range s.work {
		s.answer(s.apply(j.op, j.deadline))
		// Idle before the slot frees, so workers never outnumber slots.
		s.mu.Lock()
		s.idle++
		s.mu.Unlock()
		<-s.sem
	}
}

// apply runs one operation and returns its result.
func (s *streamServer) apply(op *ringkvv1.ReplicaOp, deadline time.Time) *ringkvv1.ReplicaResult {
	res := &ringkvv1.ReplicaResult{Id: op.GetId()}
	var err error
	switch {
	case !time.Now().Before(deadline):
		err = connect.NewError(connect.CodeDeadlineExceeded, errors.New("replica operation arrived after its deadline"))
	case op.GetKind() == ringkvv1.ReplicaOp_KIND_READ:
		res.Set, err = s.n.replicaRead(op.GetKey())
	case op.GetKind() == ringkvv1.ReplicaOp_KIND_WRITE:
		err = s.n.replicaWrite(op.GetKey(), op.GetSet())
	case op.GetKind() == ringkvv1.ReplicaOp_KIND_HINT:
		err = s.n.replicaHint(op.GetTarget(), op.GetKey(), op.GetSet())
	default:
		err = connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown replica operation kind %d", op.GetKind()))
	}
	s.n.metrics.streamOps.WithLabelValues(kindLabel(op.GetKind()), outcome(err)).Inc()
	if err != nil {
		res.Code = uint32(connect.CodeOf(err))
		res.Error = err.Error()
	}
	return res
}

// answer queues a result for the next results message.
func (s *streamServer) answer(r *ringkvv1.ReplicaResult) {
	s.mu.Lock()
	s.results = append(s.results, r)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// flush sends every queued result, in messages of at most maxResultBytes
// (or one result, if bigger).
func (s *streamServer) flush(st *connect.BidiStream[ringkvv1.ReplicaBatch, ringkvv1.ReplicaResults]) error {
	s.mu.Lock()
	results := s.results
	s.results = nil
	s.mu.Unlock()
	for len(results) > 0 {
		size, i := 0, 0
		for ; i < len(results) && (i == 0 || size+len(results[i].GetSet()) <= maxResultBytes); i++ {
			size += len(results[i].GetSet())
		}
		if err := st.Send(&ringkvv1.ReplicaResults{Results: results[:i]}); err != nil {
			return err
		}
		results = results[i:]
	}
	return nil
}

// stop lets no new operation start and waits for those in flight.
func (s *streamServer) stop() {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.work)
	}
	s.mu.Unlock()
	s.workers.Wait()
}

// kindLabel names an operation kind in metrics.
func kindLabel(k ringkvv1.ReplicaOp_Kind) string {
	switch k {
	case ringkvv1.ReplicaOp_KIND_READ:
		return "read"
	case ringkvv1.ReplicaOp_KIND_WRITE:
		return "write"
	case ringkvv1.ReplicaOp_KIND_HINT:
		return "hint"
	}
	return "unknown"
}
