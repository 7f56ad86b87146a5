package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/transfers"
)

// Partition transfers over Connect: transferPeer is a transfers.Peer that
// reaches another node's TransferService on the bulk connections, and the
// conversions both sides share. Errors cross the wire as Connect codes and
// come back as the transfers package's sentinels, so the donor's Manager
// sees what an in-process Receiver would have said: a *GapError with the
// receiver's cursor, ErrBadBatch, or a failure it retries.

// transferClient is a peer's TransferService.
type transferClient = ringkvv1connect.TransferServiceClient

// transferClient returns node id's TransferService client, on the bulk
// connections: a transfer never queues in front of foreground replica
// operations.
func (p *peers) transferClient(id string) (transferClient, error) {
	return bulkClient(p, p.bulk.transfer, id, ringkvv1connect.NewTransferServiceClient)
}

// transferPeer is node id as the receiver of transfers.
type transferPeer struct {
	peers *peers
	id    string
	// failed counts calls that failed for a reason other than a gap or
	// the transfer's cancellation: each is an attempt the Manager retries.
	failed func()
}

func (t transferPeer) Send(ctx context.Context, b transfers.Batch) (transfers.Cursor, error) {
	c, err := t.peers.transferClient(t.id)
	if err != nil {
		return transfers.Cursor{}, t.fail(ctx, err)
	}
	resp, err := c.Send(ctx, connect.NewRequest(batchProto(b)))
	if err != nil {
		return transfers.Cursor{}, t.fail(ctx, transferErrorFromWire(err))
	}
	return cursorFromProto(resp.Msg.GetCursor()), nil
}

func (t transferPeer) Cursor(ctx context.Context, id transfers.ID) (transfers.Cursor, error) {
	c, err := t.peers.transferClient(t.id)
	if err != nil {
		return transfers.Cursor{}, t.fail(ctx, err)
	}
	resp, err := c.Cursor(ctx, connect.NewRequest(&ringkvv1.TransferCursorRequest{Id: idProto(id)}))
	if err != nil {
		return transfers.Cursor{}, t.fail(ctx, transferErrorFromWire(err))
	}
	return cursorFromProto(resp.Msg.GetCursor()), nil
}

// fail counts err unless it is a gap (the Manager resumes at once) or the
// transfer was cancelled, and returns it.
func (t transferPeer) fail(ctx context.Context, err error) error {
	if t.failed != nil && !errors.Is(err, transfers.ErrGap) && !errors.Is(ctx.Err(), context.Canceled) {
		t.failed()
	}
	return err
}

// transferErrorFromWire turns a TransferService error back into what the
// receiver said: a *transfers.GapError carrying its cursor, ErrBadBatch,
// or the Connect error itself (retried).
func transferErrorFromWire(err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Code() {
	case connect.CodeAborted:
		for _, d := range ce.Details() {
			if v, derr := d.Value(); derr == nil {
				if cur, ok := v.(*ringkvv1.TransferCursor); ok {
					return &transfers.GapError{Cursor: cursorFromProto(cur)}
				}
			}
		}
	case connect.CodeInvalidArgument:
		return fmt.Errorf("%w: the receiver says: %w", transfers.ErrBadBatch, err)
	}
	return err
}

// transferErrorToWire converts the receiving side's error at the edge: a
// gap goes back as Aborted with the cursor as the error's detail.
func transferErrorToWire(err error) error {
	if gap, ok := errors.AsType[*transfers.GapError](err); ok {
		ce := connect.NewError(connect.CodeAborted, err)
		if d, derr := connect.NewErrorDetail(cursorProto(gap.Cursor)); derr == nil {
			ce.AddDetail(d)
		}
		return ce
	}
	if errors.Is(err, transfers.ErrBadBatch) || errors.Is(err, storage.ErrBadTransfer) {
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	return rpcError(err)
}

func idProto(id transfers.ID) *ringkvv1.TransferID {
	return &ringkvv1.TransferID{Partition: uint32(id.Partition), From: id.From, To: id.To, Epoch: id.Epoch}
}

func idFromProto(p *ringkvv1.TransferID) transfers.ID {
	return transfers.ID{Partition: int(p.GetPartition()), From: p.GetFrom(), To: p.GetTo(), Epoch: p.GetEpoch()}
}

func cursorProto(c transfers.Cursor) *ringkvv1.TransferCursor {
	return &ringkvv1.TransferCursor{After: c.After, Done: c.Done}
}

func cursorFromProto(p *ringkvv1.TransferCursor) transfers.Cursor {
	c := transfers.Cursor{Done: p.GetDone()}
	if len(p.GetAfter()) > 0 {
		c.After = p.GetAfter()
	}
	return c
}

func batchProto(b transfers.Batch) *ringkvv1.TransferSendRequest {
	req := &ringkvv1.TransferSendRequest{Id: idProto(b.ID), After: b.After, Next: b.Next, Done: b.Done,
		Items: make([]*ringkvv1.TransferItem, len(b.Items))}
	for i, it := range b.Items {
		req.Items[i] = &ringkvv1.TransferItem{Key: it.Key, Set: it.Set}
		if !it.TombSince.IsZero() {
			req.Items[i].TombSinceUnixNs = it.TombSince.UnixNano()
		}
	}
	return req
}

func batchFromProto(req *ringkvv1.TransferSendRequest) transfers.Batch {
	b := transfers.Batch{ID: idFromProto(req.GetId()), Next: req.GetNext(), Done: req.GetDone(),
		Items: make([]storage.TransferItem, len(req.GetItems()))}
	if len(req.GetAfter()) > 0 {
		b.After = req.GetAfter()
	}
	for i, it := range req.GetItems() {
		b.Items[i] = storage.TransferItem{Key: it.GetKey(), Set: it.GetSet()}
		if ns := it.GetTombSinceUnixNs(); ns != 0 {
			b.Items[i].TombSince = time.Unix(0, ns)
		}
	}
	return b
}
