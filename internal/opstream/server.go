package opstream

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// Serve serves one stream until the sender closes it, it fails, or
// draining closes. Operations run concurrently on the stream's workers, so
// one slow operation does not hold up those behind it (and concurrent
// writes share Pebble's fsyncs). apply runs one operation, which must be
// done by its deadline, and returns its result; Serve sets the result's
// id. This goroutine writes the results: each message carries every
// result that completed while the previous one was being written, and
// an operation counts against MaxInFlight until its result is sent. When
// draining closes, the stream stops taking operations, answers those in
// flight and ends. obs sees the stream's messages.
func Serve[B, Op, Rs, Res any](p *Protocol[B, Op, Rs, Res], st *connect.BidiStream[B, Rs], draining <-chan struct{},
	apply func(op *Op, deadline time.Time) *Res, obs Observer) error {
	s := &server[B, Op, Rs, Res]{p: p, apply: apply, obs: obs, kick: make(chan struct{}, 1),
		sem: make(chan struct{}, MaxInFlight), work: make(chan job[Op], MaxInFlight), done: make(chan struct{})}
	defer close(s.done)
	// The reader may outlive this function by a moment when the server
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
		case <-draining:
			s.stop()
			return s.flush(st)
		}
	}
}

// Observer sees a served stream's messages, for metrics; a nil field is
// skipped.
type Observer struct {
	Batch   func(ops int)     // a message received, by its operations
	Results func(results int) // a message sent, by its results
}

// server is the state of one served stream.
type server[B, Op, Rs, Res any] struct {
	p     *Protocol[B, Op, Rs, Res]
	apply func(*Op, time.Time) *Res
	obs   Observer
	kick  chan struct{} // results are waiting; capacity 1
	// sem holds a slot for each operation from when it is read until its
	// result is sent, not merely queued: a sender that stops reading
	// results stops this stream reading operations, and holds at most
	// MaxInFlight results here.
	sem  chan struct{}
	work chan job[Op]  // operations for the workers; as big as sem
	done chan struct{} // closed when Serve returns: no slot will free

	mu      sync.Mutex
	stopped bool // no new operations start; work is closed
	idle    int  // workers waiting for work
	workers sync.WaitGroup
	results []*Res
}

// job is one operation for a worker.
type job[Op any] struct {
	op       *Op
	id       uint64
	deadline time.Time
}

// receive reads batches and starts their operations until the stream ends
// or the server stops. It returns nil when the sender closed the stream.
func (s *server[B, Op, Rs, Res]) receive(st *connect.BidiStream[B, Rs]) error {
	for {
		batch, err := st.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		ops := s.p.Ops(batch)
		if len(ops) > MaxBatchOps {
			return connect.NewError(connect.CodeInvalidArgument,
				fmt.Errorf("%s: a batch has %d operations; the limit is %d", s.p.Name, len(ops), MaxBatchOps))
		}
		if s.obs.Batch != nil {
			s.obs.Batch(len(ops))
		}
		now := time.Now()
		for _, op := range ops {
			select {
			case s.sem <- struct{}{}:
			case <-s.done:
				return nil
			}
			id, us := s.p.Header(op)
			if !s.start(job[Op]{op: op, id: id, deadline: now.Add(timeLeft(us))}) {
				<-s.sem
				return nil
			}
		}
	}
}

// start hands j to a worker unless the stream has stopped. Workers live as
// long as the stream, so their stacks, grown once by deep calls into
// Pebble, are not grown again for every operation; a new one starts only
// when none is idle.
func (s *server[B, Op, Rs, Res]) start(j job[Op]) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.work <- j // never blocks: the caller holds a sem slot
	if s.idle == 0 {
		s.workers.Go(s.worker)
	} else {
		s.idle--
	}
	return true
}

// worker runs operations until the stream stops.
func (s *server[B, Op, Rs, Res]) worker() {
	for j := range s.work {
		r := s.apply(j.op, j.deadline)
		s.p.SetResultID(r, j.id)
		s.mu.Lock()
		s.results = append(s.results, r)
		s.idle++ // the slot stays taken until flush sends r
		s.mu.Unlock()
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// flush sends every queued result, in messages of at most maxBatchBytes
// (or one result, if bigger).
func (s *server[B, Op, Rs, Res]) flush(st *connect.BidiStream[B, Rs]) error {
	// Yield once first: workers woken together (by one fsync, say) are
	// runnable but may not have queued their results yet, and this lets
	// them, so one message carries them all. With nothing else runnable
	// it returns at once. (A workload-A run: 1.5 result messages per
	// batch received before, 1.0 after.)
	runtime.Gosched()
	s.mu.Lock()
	results := s.results
	s.results = nil
	s.mu.Unlock()
	for len(results) > 0 {
		size, i := 0, 0
		for ; i < len(results) && (i == 0 || size+s.p.ResultSize(results[i]) <= maxBatchBytes); i++ {
			size += s.p.ResultSize(results[i])
		}
		if s.obs.Results != nil {
			s.obs.Results(i)
		}
		if err := st.Send(s.p.NewResults(results[:i])); err != nil {
			return err
		}
		for range i {
			<-s.sem
		}
		results = results[i:]
	}
	return nil
}

// stop lets no new operation start and waits for those in flight.
func (s *server[B, Op, Rs, Res]) stop() {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.work)
	}
	s.mu.Unlock()
	s.workers.Wait()
}
