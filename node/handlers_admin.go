package node

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
)

// adminHandler serves the admin API.
type adminHandler struct{ n *Node }

func (h adminHandler) Status(_ context.Context, _ *connect.Request[ringkvv1.StatusRequest]) (*connect.Response[ringkvv1.StatusResponse], error) {
	n := h.n
	v := n.view.Load()
	resp := &ringkvv1.StatusResponse{
		NodeId:     n.cfg.ID,
		Actor:      fmt.Sprintf("%016x", uint64(n.store.Actor())),
		N:          uint32(n.cfg.N),
		Partitions: uint32(n.cfg.Partitions),
	}
	for _, m := range n.gossip.Members() {
		resp.Members = append(resp.Members, &ringkvv1.Member{
			Id: m.ID, Addr: m.RPCAddr, GossipAddr: m.GossipAddr, State: string(m.State),
			Partitions: uint32(len(v.ring.PartitionsOf(m.ID))),
		})
	}
	return connect.NewResponse(resp), nil
}
