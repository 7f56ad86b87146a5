package node

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/internal/opstream"
	"github.com/ringkv/ringkv/internal/wire"
)

// Stream serves a client's pipelined requests (see opstream.Serve). Each
// operation passes admission, is counted in the request metrics and runs
// exactly as its unary call would.
func (h kvHandler) Stream(_ context.Context, st *connect.BidiStream[ringkvv1.KVBatch, ringkvv1.KVResults]) error {
	return opstream.Serve(wire.KV, st, h.n.draining, h.n.applyKVOp, observer(h.n.metrics.kvBatch, h.n.metrics.kvResults))
}

// applyKVOp runs one streamed client request.
func (n *Node) applyKVOp(op *ringkvv1.KVOp, deadline time.Time) *ringkvv1.KVResult {
	start := time.Now()
	res := &ringkvv1.KVResult{}
	name, err := n.runKVOp(op, deadline, res)
	if err != nil {
		res.Response = nil
		wire.Fail(&res.Code, &res.Error, err)
	}
	n.metrics.requests.WithLabelValues("KVService", name, outcome(err)).Inc()
	n.metrics.latency.WithLabelValues("KVService", name).Observe(time.Since(start).Seconds())
	return res
}

// runKVOp runs op into res and returns the name of its unary call.
func (n *Node) runKVOp(op *ringkvv1.KVOp, deadline time.Time, res *ringkvv1.KVResult) (string, error) {
	name := "Unknown"
	switch op.GetRequest().(type) {
	case *ringkvv1.KVOp_Get:
		name = "Get"
	case *ringkvv1.KVOp_Put:
		name = "Put"
	case *ringkvv1.KVOp_Delete:
		name = "Delete"
	default:
		return name, connect.NewError(connect.CodeInvalidArgument, errors.New("kv stream operation carries no request"))
	}
	if !time.Now().Before(deadline) {
		return name, connect.NewError(connect.CodeDeadlineExceeded, errors.New("request arrived after its deadline"))
	}
	if err := n.admit.enter(); err != nil {
		return name, err
	}
	defer n.admit.leave()
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	switch r := op.GetRequest().(type) {
	case *ringkvv1.KVOp_Get:
		m, err := n.get(ctx, r.Get)
		res.Response = &ringkvv1.KVResult_Get{Get: m}
		return name, err
	case *ringkvv1.KVOp_Put:
		m, err := n.put(ctx, r.Put)
		res.Response = &ringkvv1.KVResult_Put{Put: m}
		return name, err
	default:
		m, err := n.del(ctx, op.GetDelete())
		res.Response = &ringkvv1.KVResult_Delete{Delete: m}
		return name, err
	}
}
