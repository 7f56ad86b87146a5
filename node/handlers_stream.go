package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/internal/opstream"
	"github.com/ringkv/ringkv/internal/wire"
)

// Stream serves one peer's replica stream (see opstream.Serve); it ends
// when the server shuts down.
func (h replicaHandler) Stream(_ context.Context, st *connect.BidiStream[ringkvv1.ReplicaBatch, ringkvv1.ReplicaResults]) error {
	return opstream.Serve(wire.Replica, st, h.n.draining, h.n.applyReplicaOp, observer(h.n.metrics.streamBatch, h.n.metrics.streamResults))
}

// applyReplicaOp runs one streamed replica operation.
func (n *Node) applyReplicaOp(op *ringkvv1.ReplicaOp, deadline time.Time) *ringkvv1.ReplicaResult {
	res := &ringkvv1.ReplicaResult{}
	var err error
	switch {
	case !time.Now().Before(deadline):
		err = connect.NewError(connect.CodeDeadlineExceeded, errors.New("replica operation arrived after its deadline"))
	case op.GetKind() == ringkvv1.ReplicaOp_KIND_READ:
		res.Set, err = n.replicaRead(op.GetKey())
	case op.GetKind() == ringkvv1.ReplicaOp_KIND_WRITE:
		err = n.replicaWrite(op.GetKey(), op.GetSet())
	case op.GetKind() == ringkvv1.ReplicaOp_KIND_HINT:
		err = n.replicaHint(op.GetTarget(), op.GetKey(), op.GetSet())
	default:
		err = connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown replica operation kind %d", op.GetKind()))
	}
	n.metrics.streamOps.WithLabelValues(kindLabel(op.GetKind()), outcome(err)).Inc()
	if err != nil {
		wire.Fail(&res.Code, &res.Error, err)
	}
	return res
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
