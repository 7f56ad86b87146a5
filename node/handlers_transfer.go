package node

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/transfers"
)

// transferHandler serves TransferService: donors' batches for this node's
// Receiver. The fault layer refuses it across a partition like the
// replica service, and its requests are bounded by transferReadMax.
type transferHandler struct{ n *Node }

// transferReadMax bounds a TransferService request: a batch of up to
// MaxBatchBytes, or one key as big as a replica write may carry (a batch
// holds at least one key), plus its framing.
func (n *Node) transferReadMax() int {
	replicaMax := n.cfg.MaxValueBytes*(n.cfg.MaxSiblings+1) + 64<<10
	return max(transfers.MaxBatchBytes, replicaMax) + transfers.MaxBatchKeys*8 + 64<<10
}

func (h transferHandler) Send(ctx context.Context, req *connect.Request[ringkvv1.TransferSendRequest]) (*connect.Response[ringkvv1.TransferSendResponse], error) {
	b := batchFromProto(req.Msg)
	if err := h.checkID(req.Msg.GetId()); err != nil {
		return nil, err
	}
	if err := checkTombTimes(req.Msg.GetItems()); err != nil {
		return nil, err
	}
	ctx, cancel := h.n.withDeadline(ctx)
	defer cancel()
	cur, err := h.n.xfer.recv.Send(ctx, b)
	h.n.xfer.sawBatch(b, cur, err, func(c []byte) float64 { return h.n.store.TransferFraction(b.ID.Partition, c) })
	if err != nil {
		return nil, transferErrorToWire(err)
	}
	return connect.NewResponse(&ringkvv1.TransferSendResponse{Cursor: cursorProto(cur)}), nil
}

func (h transferHandler) Cursor(ctx context.Context, req *connect.Request[ringkvv1.TransferCursorRequest]) (*connect.Response[ringkvv1.TransferCursorResponse], error) {
	if err := h.checkID(req.Msg.GetId()); err != nil {
		return nil, err
	}
	ctx, cancel := h.n.withDeadline(ctx)
	defer cancel()
	cur, err := h.n.xfer.recv.Cursor(ctx, idFromProto(req.Msg.GetId()))
	if err != nil {
		return nil, transferErrorToWire(err)
	}
	return connect.NewResponse(&ringkvv1.TransferCursorResponse{Cursor: cursorProto(cur)}), nil
}

// checkID refuses a transfer not addressed to this node, from no valid
// donor, or of a partition the ring does not have.
func (h transferHandler) checkID(p *ringkvv1.TransferID) error {
	n := h.n
	switch {
	case p == nil:
		return badTransfer("the request names no transfer")
	case p.GetTo() != n.cfg.ID:
		return badTransfer(fmt.Sprintf("the transfer is to %q; this node is %s", p.GetTo(), n.cfg.ID))
	case !validID(p.GetFrom()) || p.GetFrom() == n.cfg.ID:
		return badTransfer(fmt.Sprintf("the donor %q is not another node's id", p.GetFrom()))
	case p.GetPartition() >= uint32(n.cfg.Partitions):
		return badTransfer(fmt.Sprintf("partition %d is not in 0..%d", p.GetPartition(), n.cfg.Partitions-1))
	}
	return nil
}

func checkTombTimes(items []*ringkvv1.TransferItem) error {
	for _, it := range items {
		if it.GetTombSinceUnixNs() < 0 {
			return badTransfer(fmt.Sprintf("key %q has a negative reap time", it.GetKey()))
		}
	}
	return nil
}

func badTransfer(msg string) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%w: %s", transfers.ErrBadBatch, msg))
}

// Transfers serves `ringkv transfers`.
func (h adminHandler) Transfers(context.Context, *connect.Request[ringkvv1.TransfersRequest]) (*connect.Response[ringkvv1.TransfersResponse], error) {
	n := h.n
	resp := &ringkvv1.TransfersResponse{NodeId: n.cfg.ID, RateLimit: n.cfg.Transfers.Rate, Concurrency: uint32(n.cfg.Transfers.Concurrency)}
	for _, s := range n.Transfers() {
		resp.Transfers = append(resp.Transfers, transferProto(s))
	}
	return connect.NewResponse(resp), nil
}

func transferProto(s TransferStatus) *ringkvv1.TransferProgress {
	p := &ringkvv1.TransferProgress{Id: idProto(s.ID), Role: s.Role, State: string(s.State), Keys: s.Keys,
		Bytes: s.Bytes, BytesSent: s.BytesSent, Fraction: s.Fraction, Rate: s.Rate, EtaMs: -1,
		Attempts: uint32(s.Attempts), LastError: s.LastErr, StartedUnixMs: s.Started.UnixMilli()}
	if s.ETA >= 0 {
		p.EtaMs = s.ETA.Milliseconds()
	}
	return p
}

// transferTotals is Status's summary of the transfers.
func (n *Node) transferTotals() *ringkvv1.TransferTotals {
	t := n.TransferTotals()
	return &ringkvv1.TransferTotals{Sending: uint32(t.Sending), Receiving: uint32(t.Receiving), BytesSent: t.BytesSent,
		KeysReceived: t.KeysReceived}
}
