package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/internal/opstream"
)

// replicaProtocol is ReplicaService.Stream's wire for opstream.
var replicaProtocol = &opstream.Protocol[ringkvv1.ReplicaBatch, ringkvv1.ReplicaOp, ringkvv1.ReplicaResults, ringkvv1.ReplicaResult]{
	Name:     "replica stream",
	NewBatch: func(ops []*ringkvv1.ReplicaOp) *ringkvv1.ReplicaBatch { return &ringkvv1.ReplicaBatch{Ops: ops} },
	Ops:      (*ringkvv1.ReplicaBatch).GetOps,
	SetHeader: func(op *ringkvv1.ReplicaOp, id uint64, us int64) {
		op.Id, op.TimeoutUs = id, us
	},
	Header: func(op *ringkvv1.ReplicaOp) (uint64, int64) { return op.GetId(), op.GetTimeoutUs() },
	OpSize: func(op *ringkvv1.ReplicaOp) int { return len(op.GetKey()) + len(op.GetSet()) },
	NewResults: func(rs []*ringkvv1.ReplicaResult) *ringkvv1.ReplicaResults {
		return &ringkvv1.ReplicaResults{Results: rs}
	},
	Results: (*ringkvv1.ReplicaResults).GetResults,
	SetResultID: func(r *ringkvv1.ReplicaResult, id uint64) {
		r.Id = id
	},
	ResultID:   (*ringkvv1.ReplicaResult).GetId,
	ResultSize: func(r *ringkvv1.ReplicaResult) int { return len(r.GetSet()) },
}

// replicaStream carries foreground replica operations to one peer.
type replicaStream = opstream.Client[ringkvv1.ReplicaBatch, ringkvv1.ReplicaOp, ringkvv1.ReplicaResults, ringkvv1.ReplicaResult]

// replicaStreamClient is the part of the replica client a stream needs.
type replicaStreamClient interface {
	Stream(context.Context) *connect.BidiStreamForClient[ringkvv1.ReplicaBatch, ringkvv1.ReplicaResults]
}

// openStream starts a replica stream to peer through client, torn down
// after stall (see opstream.DefaultStall); wg owns its goroutines.
func openStream(ctx context.Context, wg *sync.WaitGroup, peer string, client replicaStreamClient, stall time.Duration) *replicaStream {
	return opstream.Open(ctx, wg, replicaProtocol, peer, client.Stream, stall)
}

// replicaDo runs one replica operation on s and returns the set it answers
// with, or its error with the peer's code.
func replicaDo(ctx context.Context, s *replicaStream, kind ringkvv1.ReplicaOp_Kind, target string, key, set []byte) ([]byte, error) {
	r, err := s.Do(ctx, &ringkvv1.ReplicaOp{Kind: kind, Target: target, Key: key, Set: set})
	if err != nil {
		return nil, err
	}
	if r.GetCode() != 0 {
		return nil, connect.NewError(connect.Code(r.GetCode()), errors.New(r.GetError()))
	}
	return r.GetSet(), nil
}
