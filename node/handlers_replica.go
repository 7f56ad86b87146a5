package node

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/vclock"
)

// replicaHandler serves the calls nodes make on each other.
type replicaHandler struct{ n *Node }

func (h replicaHandler) Read(_ context.Context, req *connect.Request[ringkvv1.ReadRequest]) (*connect.Response[ringkvv1.ReadResponse], error) {
	if err := h.n.checkKey(req.Msg.GetKey()); err != nil {
		return nil, err
	}
	raw, err := h.n.store.ReadRaw(req.Msg.GetKey())
	if err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&ringkvv1.ReadResponse{Set: raw}), nil
}

func (h replicaHandler) Write(_ context.Context, req *connect.Request[ringkvv1.WriteRequest]) (*connect.Response[ringkvv1.WriteResponse], error) {
	if err := h.n.checkKey(req.Msg.GetKey()); err != nil {
		return nil, err
	}
	in, err := vclock.Decode(req.Msg.GetSet())
	if err == nil {
		err = checkCounters(in.Context())
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("replica write: %w", err))
	}
	if _, err := h.n.store.Merge(req.Msg.GetKey(), in); err != nil {
		return nil, rpcError(err)
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
	resp, err := n.coordinate(ctx, n.view.Load().walk(req.Msg.GetKey()), req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// Hint stores a version set here for another replica that missed it.
func (h replicaHandler) Hint(_ context.Context, req *connect.Request[ringkvv1.HintRequest]) (*connect.Response[ringkvv1.HintResponse], error) {
	n := h.n
	if err := n.checkKey(req.Msg.GetKey()); err != nil {
		return nil, err
	}
	if !validID(req.Msg.GetTarget()) {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("hint target %q is not a node id", req.Msg.GetTarget()))
	}
	in, err := vclock.Decode(req.Msg.GetSet())
	if err == nil {
		err = checkCounters(in.Context())
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("hint: %w", err))
	}
	if err := n.storeHint(req.Msg.GetTarget(), req.Msg.GetKey(), in); err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&ringkvv1.HintResponse{}), nil
}
