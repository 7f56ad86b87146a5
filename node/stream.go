package node

import (
	"context"
	"sync"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/internal/opstream"
	"github.com/ringkv/ringkv/internal/wire"
)

// replicaStream carries foreground replica operations to one peer.
type replicaStream = opstream.Client[ringkvv1.ReplicaBatch, ringkvv1.ReplicaOp, ringkvv1.ReplicaResults, ringkvv1.ReplicaResult]

// replicaStreamClient is the part of the replica client a stream needs.
type replicaStreamClient interface {
	Stream(context.Context) *connect.BidiStreamForClient[ringkvv1.ReplicaBatch, ringkvv1.ReplicaResults]
}

// openStream starts a replica stream to peer through client, torn down
// once the peer is stuck for stall (see opstream.DefaultStall); wg owns
// its goroutines.
func openStream(ctx context.Context, wg *sync.WaitGroup, peer string, client replicaStreamClient, stall time.Duration) *replicaStream {
	return opstream.Open(ctx, wg, wire.Replica, peer, client.Stream, stall)
}

// replicaDo runs one replica operation on s and returns the set it answers
// with, or its error with the peer's code.
func replicaDo(ctx context.Context, s *replicaStream, kind ringkvv1.ReplicaOp_Kind, target string, key, set []byte) ([]byte, error) {
	r, err := s.Do(ctx, &ringkvv1.ReplicaOp{Kind: kind, Target: target, Key: key, Set: set})
	if err != nil {
		return nil, err
	}
	if err := wire.Err(r.GetCode(), r.GetError()); err != nil {
		return nil, err
	}
	return r.GetSet(), nil
}
