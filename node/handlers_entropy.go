package node

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	"github.com/ringkv/ringkv/antientropy"
	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
)

// Bounds on one anti-entropy question from a peer.
const (
	maxTreeIndexes = 1 << 16
	maxLeaves      = 1 << 12
)

// entropyHandler answers other replicas' Merkle-tree exchanges.
type entropyHandler struct{ n *Node }

func (h entropyHandler) partition(p uint32) (int, error) {
	if int(p) >= h.n.cfg.Partitions {
		return 0, connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("partition %d is outside 0..%d", p, h.n.cfg.Partitions-1))
	}
	return int(p), nil
}

func (h entropyHandler) TreeHashes(_ context.Context, req *connect.Request[ringkvv1.TreeHashesRequest]) (*connect.Response[ringkvv1.TreeHashesResponse], error) {
	p, err := h.partition(req.Msg.GetPartition())
	if err != nil {
		return nil, err
	}
	if n := len(req.Msg.GetIndexes()); n > maxTreeIndexes {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%d tree indexes; the limit is %d", n, maxTreeIndexes))
	}
	hashes, err := h.n.store.TreeHashes(p, int(req.Msg.GetLevel()), toInts(req.Msg.GetIndexes()))
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	return connect.NewResponse(&ringkvv1.TreeHashesResponse{Hashes: hashes}), nil
}

func (h entropyHandler) LeafKeys(_ context.Context, req *connect.Request[ringkvv1.LeafKeysRequest]) (*connect.Response[ringkvv1.LeafKeysResponse], error) {
	p, err := h.partition(req.Msg.GetPartition())
	if err != nil {
		return nil, err
	}
	leaves := toInts(req.Msg.GetLeaves())
	if len(leaves) > maxLeaves {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%d leaves; the limit is %d", len(leaves), maxLeaves))
	}
	if err := h.n.store.CheckLeaves(leaves); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	q := antientropy.KeysQuery{Leaves: leaves, After: req.Msg.GetAfter(), Until: req.Msg.GetUntil(), Limit: int(req.Msg.GetLimit())}
	page, err := h.n.store.LeafKeysPage(p, q, int(req.Msg.GetMaxBytes()))
	if err != nil {
		return nil, rpcError(err)
	}
	resp := &ringkvv1.LeafKeysResponse{More: page.More, Keys: make([][]byte, len(page.Keys)),
		Digests: make([]uint64, len(page.Keys)), Tombstones: make([]bool, len(page.Keys))}
	for i, kd := range page.Keys {
		resp.Keys[i], resp.Digests[i], resp.Tombstones[i] = kd.Key, kd.Digest, kd.Tombstone
	}
	return connect.NewResponse(resp), nil
}

func toInts(xs []uint32) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}
