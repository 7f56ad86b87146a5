package node

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"

	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/storage"
)

// adminHandler serves the admin API.
type adminHandler struct{ n *Node }

func (h adminHandler) Status(_ context.Context, _ *connect.Request[ringkvv1.StatusRequest]) (*connect.Response[ringkvv1.StatusResponse], error) {
	n := h.n
	v := n.view.Load()
	resp := &ringkvv1.StatusResponse{
		NodeId:         n.cfg.ID,
		Actor:          fmt.Sprintf("%016x", uint64(n.store.Actor())),
		N:              uint32(n.cfg.N),
		Partitions:     uint32(n.cfg.Partitions),
		HintsStored:    n.hintsIn.Load(),
		HintsDelivered: n.handoff.delivered.Load(),
		HintsDropped:   n.hintsDropped(),
		ReadRepairs:    n.coord.ReadRepairs(),
		PhiThreshold:   n.cfg.PhiThreshold,
		HintedHandoff:  !n.cfg.DisableHintedHandoff,
		AntiEntropy:    n.entropy.status(),
		Disk:           diskStatus(n.store.Disk()),
		Faults:         faultsProto(n.faults),
		Transfers:      n.transferTotals(),
		RingVersion:    v.agreed.Version(),
		RingDigest:     v.agreed.Digest(),
		RingPending:    uint32(len(v.agreed.Transfers())),
	}
	hints := n.store.HintStats()
	inRing := map[string]membership.Member{}
	for _, m := range v.agreed.Members() {
		inRing[m.ID] = m
	}
	for _, m := range n.gossip.Members() {
		h := hints[m.ID]
		var oldest int64
		if h.Count > 0 {
			oldest = h.Oldest.UnixMilli()
		}
		rm, ok := inRing[m.ID]
		var phase string
		if ok {
			phase = rm.Phase()
		}
		resp.Members = append(resp.Members, &ringkvv1.Member{
			Id: m.ID, Addr: m.RPCAddr, GossipAddr: m.GossipAddr, State: string(m.State),
			Partitions: uint32(rm.Owned), PendingPartitions: uint32(rm.Pending), RingPhase: phase, Phi: m.Phi,
			Hints: uint64(h.Count), HintBytes: uint64(h.Bytes), HintsOldestUnixMs: oldest,
		})
	}
	// Members of the ring gossip has not heard of (a joiner that never met
	// a member that is down) are listed dead, as gossip counts them.
	for _, rm := range v.agreed.Members() {
		if _, ok := v.members[rm.ID]; !ok {
			resp.Members = append(resp.Members, &ringkvv1.Member{Id: rm.ID, State: string(gossip.StateDead),
				Partitions: uint32(rm.Owned), PendingPartitions: uint32(rm.Pending), RingPhase: rm.Phase()})
		}
	}
	return connect.NewResponse(resp), nil
}

func (h adminHandler) Ring(_ context.Context, _ *connect.Request[ringkvv1.RingRequest]) (*connect.Response[ringkvv1.RingResponse], error) {
	return connect.NewResponse(h.n.ringResponse()), nil
}

func diskStatus(d storage.DiskStatus) *ringkvv1.Disk {
	return &ringkvv1.Disk{Probed: d.Probed, FreeBytes: d.Free, ReserveBytes: d.Reserve, BallastBytes: d.Ballast,
		Full: d.Full, WritesRefused: d.Refused}
}
