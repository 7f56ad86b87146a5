package node

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/vclock"
)

// replicaHandler serves the calls nodes make on each other: unary Read and
// Write for background work, Stream for the coordinator's foreground
// replica operations.
type replicaHandler struct{ n *Node }

func (h replicaHandler) Read(_ context.Context, req *connect.Request[ringkvv1.ReadRequest]) (*connect.Response[ringkvv1.ReadResponse], error) {
	raw, err := h.n.replicaRead(req.Msg.GetKey())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&ringkvv1.ReadResponse{Set: raw}), nil
}

func (h replicaHandler) Write(_ context.Context, req *connect.Request[ringkvv1.WriteRequest]) (*connect.Response[ringkvv1.WriteResponse], error) {
	if err := h.n.replicaWrite(req.Msg.GetKey(), req.Msg.GetSet()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&ringkvv1.WriteResponse{}), nil
}

// Coordinate runs a write forwarded by a node that is not a replica of the
// key. It never forwards again.
func (h replicaHandler) Coordinate(ctx context.Context, req *connect.Request[ringkvv1.CoordinateRequest]) (*connect.Response[ringkvv1.CoordinateResponse], error) {
	n := h.n
	if err := n.checkKey(req.Msg.GetKey()); err != nil {
		return nil, err
	}
	if err := n.checkValue(req.Msg.GetValue()); err != nil {
		return nil, err
	}
	ctx, cancel := n.withDeadline(ctx)
	defer cancel()
	resp, err := n.coordinate(ctx, n.view.Load().route(req.Msg.GetKey()), req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// replicaRead returns this node's encoded version set for key.
func (n *Node) replicaRead(key []byte) ([]byte, error) {
	if err := n.checkKey(key); err != nil {
		return nil, err
	}
	raw, err := n.store.ReadRaw(key)
	return raw, rpcError(err)
}

// replicaWrite merges a peer's encoded version set into this node's copy
// and returns once it is durable.
func (n *Node) replicaWrite(key, set []byte) error {
	if err := n.checkKey(key); err != nil {
		return err
	}
	in, err := decodeReplicaSet(set)
	if err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("replica write: %w", err))
	}
	_, err = n.store.Merge(key, in)
	return rpcError(err)
}

// replicaHint stores a peer's encoded version set here as a hint for
// target, another replica that missed it.
func (n *Node) replicaHint(target string, key, set []byte) error {
	if err := n.checkKey(key); err != nil {
		return err
	}
	if !validID(target) {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("hint target %q is not a node id", target))
	}
	in, err := decodeReplicaSet(set)
	if err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("hint: %w", err))
	}
	return rpcError(n.storeHint(target, key, in))
}

// decodeReplicaSet decodes a version set sent by a peer and checks that
// its counters are ones a replica could have minted.
func decodeReplicaSet(b []byte) (vclock.Set, error) {
	in, err := vclock.Decode(b)
	if err == nil {
		err = checkCounters(in.Context())
	}
	return in, err
}
