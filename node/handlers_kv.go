package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/quorum"
)

// kvHandler serves the client API.
type kvHandler struct{ n *Node }

func (h kvHandler) Get(ctx context.Context, req *connect.Request[ringkvv1.GetRequest]) (*connect.Response[ringkvv1.GetResponse], error) {
	return respond(h.n.get(ctx, req.Msg))
}

func (h kvHandler) Put(ctx context.Context, req *connect.Request[ringkvv1.PutRequest]) (*connect.Response[ringkvv1.PutResponse], error) {
	return respond(h.n.put(ctx, req.Msg))
}

func (h kvHandler) Delete(ctx context.Context, req *connect.Request[ringkvv1.DeleteRequest]) (*connect.Response[ringkvv1.DeleteResponse], error) {
	return respond(h.n.del(ctx, req.Msg))
}

func respond[T any](msg *T, err error) (*connect.Response[T], error) {
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(msg), nil
}

// get serves a client read.
func (n *Node) get(ctx context.Context, req *ringkvv1.GetRequest) (*ringkvv1.GetResponse, error) {
	if err := n.checkKey(req.GetKey()); err != nil {
		return nil, err
	}
	if req.GetLocal() {
		return n.getLocal(req.GetKey())
	}
	ctx, cancel := n.withDeadline(ctx)
	defer cancel()
	rt := n.view.Load().route(req.GetKey())
	if err := checkRoute(rt); err != nil {
		return nil, err
	}
	res, err := n.coord.ReadRoute(ctx, rt, req.GetKey(), int(req.GetR()))
	if err != nil {
		return nil, rpcError(err)
	}
	return &ringkvv1.GetResponse{
		Found:   res.Set.Found(),
		Values:  res.Set.Values(),
		Context: res.Set.Context().Encode(),
		Replied: res.Replied,
	}, nil
}

// put serves a client write.
func (n *Node) put(ctx context.Context, req *ringkvv1.PutRequest) (*ringkvv1.PutResponse, error) {
	if err := n.checkValue(req.GetValue()); err != nil {
		return nil, err
	}
	resp, err := n.write(ctx, &ringkvv1.CoordinateRequest{Key: req.GetKey(), Value: req.GetValue(), Context: req.GetContext(), W: req.GetW()})
	if err != nil {
		return nil, err
	}
	return &ringkvv1.PutResponse{Context: resp.GetContext(), Acks: resp.GetAcks()}, nil
}

// del serves a client delete.
func (n *Node) del(ctx context.Context, req *ringkvv1.DeleteRequest) (*ringkvv1.DeleteResponse, error) {
	resp, err := n.write(ctx, &ringkvv1.CoordinateRequest{Key: req.GetKey(), Context: req.GetContext(), W: req.GetW(), Delete: true})
	if err != nil {
		return nil, err
	}
	return &ringkvv1.DeleteResponse{Context: resp.GetContext(), Acks: resp.GetAcks()}, nil
}

// getLocal reads only this node's replica: no quorum, no repair.
func (n *Node) getLocal(key []byte) (*ringkvv1.GetResponse, error) {
	set, err := n.store.Read(key)
	if err != nil {
		return nil, rpcError(err)
	}
	return &ringkvv1.GetResponse{
		Found: set.Found(), Values: set.Values(), Context: set.Context().Encode(), Replied: []string{n.cfg.ID},
	}, nil
}

// write validates a put or delete, then coordinates it here if this node is
// a replica of the key (one of its owners in the agreed ring), or forwards
// it once to a replica that is. W is checked against the key's replicas,
// min(N, owners), before anything is forwarded.
func (n *Node) write(ctx context.Context, req *ringkvv1.CoordinateRequest) (*ringkvv1.CoordinateResponse, error) {
	if err := n.checkKey(req.GetKey()); err != nil {
		return nil, err
	}
	rt := n.view.Load().route(req.GetKey())
	if err := checkRoute(rt); err != nil {
		return nil, err
	}
	prefs := rt.Owners[:min(n.cfg.N, len(rt.Owners))]
	if _, err := quorum.CheckLevel("w", int(req.GetW()), n.cfg.N, len(prefs)); err != nil {
		return nil, rpcError(err)
	}
	ctx, cancel := n.withDeadline(ctx)
	defer cancel()
	if slices.Contains(prefs, n.cfg.ID) {
		return n.coordinate(ctx, rt, req)
	}
	return n.forward(ctx, prefs, req)
}

// checkRoute refuses a request for a partition with no owners: only a
// node that has not learnt the ring has one.
func checkRoute(rt quorum.Route) error {
	if len(rt.Owners) == 0 {
		return connect.NewError(connect.CodeUnavailable, errNoOwners)
	}
	return nil
}

var errNoOwners = errors.New("node: this node knows no owner of the key's partition yet (it has not learnt the ring)")

// coordinate runs a write with this node as its coordinator; rt is the
// key's route in the agreed ring.
func (n *Node) coordinate(ctx context.Context, rt quorum.Route, req *ringkvv1.CoordinateRequest) (*ringkvv1.CoordinateResponse, error) {
	wctx, err := decodeContext(req.GetContext())
	if err != nil {
		return nil, err
	}
	res, err := n.coord.WriteRoute(ctx, rt, quorum.WriteRequest{
		Key: req.GetKey(), Value: req.GetValue(), Context: wctx, Tombstone: req.GetDelete(), W: int(req.GetW()),
	})
	if err != nil {
		return nil, rpcError(err)
	}
	acks := make([]*ringkvv1.Ack, len(res.Acks))
	for i, a := range res.Acks {
		acks[i] = &ringkvv1.Ack{Node: a.Node, HintFor: a.HintFor}
	}
	return &ringkvv1.CoordinateResponse{Context: res.Set.Context().Encode(), Acks: acks}, nil
}

// forward hands a write to the first live replica of its key, as a unary
// ReplicaService.Coordinate call that carries the request's remaining
// deadline (Connect sends it as the call's timeout). The receiver never
// forwards again: it coordinates the write as a replica, or refuses it
// before storing anything when its own view of the ring does not make it
// one. forward tries the next replica only when the write was not applied
// (never reached the previous one, or was refused so), so a write is never
// coordinated twice. This node counts nothing toward W: with no live
// replica, the write fails.
func (n *Node) forward(ctx context.Context, prefs []string, req *ringkvv1.CoordinateRequest) (*ringkvv1.CoordinateResponse, error) {
	var tried []string
	for _, id := range prefs {
		if !n.healthy(id) {
			tried = append(tried, id+": down or suspected")
			continue
		}
		resp, err := n.coordinateAt(ctx, id, req)
		if err == nil {
			return resp, nil
		}
		if !notApplied(err) {
			return nil, err
		}
		tried = append(tried, fmt.Sprintf("%s: %v", id, err))
	}
	return nil, connect.NewError(connect.CodeUnavailable,
		fmt.Errorf("no live replica of the key could coordinate the write (%s), and %s is not one of its replicas (%s): nothing was written",
			strings.Join(tried, "; "), n.cfg.ID, strings.Join(prefs, ", ")))
}

// coordinateAt asks replica id to coordinate req.
func (n *Node) coordinateAt(ctx context.Context, id string, req *ringkvv1.CoordinateRequest) (*ringkvv1.CoordinateResponse, error) {
	c, err := n.peers.clientIn(&n.peers.fg, id)
	if err != nil {
		return nil, err
	}
	resp, err := c.Coordinate(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// notApplied reports whether a forwarded write's error means the receiver
// applied nothing, so another replica may coordinate it.
func notApplied(err error) bool {
	var ce *connect.Error
	return isDialError(err) || (errors.As(err, &ce) && ce.Meta().Get(notReplicaHeader) != "")
}
