package client

import (
	"context"
	"errors"
	"sync"
	"time"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/internal/opstream"
	"github.com/ringkv/ringkv/internal/wire"
)

// ErrClosed is returned for requests on a pipelined Client after Close.
var ErrClosed = errors.New("client: closed")

type kvStream = opstream.Client[ringkvv1.KVBatch, ringkvv1.KVOp, ringkvv1.KVResults, ringkvv1.KVResult]

// pipeline is a pipelined Client's stream to its node, reopened after a
// backoff when it fails.
type pipeline struct {
	addr   string
	kv     ringkvv1connect.KVServiceClient
	ctx    context.Context // ends the stream on close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the stream's goroutines

	mu   sync.Mutex
	slot opstream.Slot[ringkvv1.KVBatch, ringkvv1.KVOp, ringkvv1.KVResults, ringkvv1.KVResult]
}

func newPipeline(addr string, kv ringkvv1connect.KVServiceClient) *pipeline {
	ctx, cancel := context.WithCancel(context.Background())
	return &pipeline{addr: addr, kv: kv, ctx: ctx, cancel: cancel}
}

// defaultTimeout is the deadline of a pipelined request made without one:
// a node gives a unary call without a deadline its --request-timeout,
// whose default this is, but cannot tell a streamed request without one.
const defaultTimeout = 5 * time.Second

// do runs op and returns its result, or the error it or the stream met.
func (p *pipeline) do(ctx context.Context, op *ringkvv1.KVOp) (*ringkvv1.KVResult, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	p.mu.Lock()
	s, err := p.slot.Get(time.Now(), func() (*kvStream, error) {
		if p.ctx.Err() != nil {
			return nil, ErrClosed
		}
		return opstream.Open(p.ctx, &p.wg, wire.KV, p.addr, p.kv.Stream, opstream.DefaultStall), nil
	})
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	r, err := s.Do(ctx, op)
	if err != nil {
		return nil, err
	}
	if err := wire.Err(r.GetCode(), r.GetError()); err != nil {
		return nil, err
	}
	return r, nil
}

func (p *pipeline) close() {
	p.mu.Lock() // do opens streams under mu only while ctx lives
	p.cancel()
	p.mu.Unlock()
	p.wg.Wait()
}
