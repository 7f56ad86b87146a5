package node_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/faults"
	"github.com/ringkv/ringkv/node"
	"github.com/ringkv/ringkv/transfers"
	"github.com/ringkv/ringkv/vclock"
)

func transferClient(n *node.Node) ringkvv1connect.TransferServiceClient {
	return ringkvv1connect.NewTransferServiceClient(http.DefaultClient, "http://"+n.Addr())
}

// sendBatch sends req to n's TransferService, with from in Ringkv-From
// when set.
func sendBatch(n *node.Node, from string, req *ringkvv1.TransferSendRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := connect.NewRequest(req)
	if from != "" {
		r.Header().Set("Ringkv-From", from)
	}
	_, err := transferClient(n).Send(ctx, r)
	return err
}

// A batch of partition 3 from n9 to n1 with the given keys, each holding
// one value.
func goodBatch(keys ...[]byte) *ringkvv1.TransferSendRequest {
	req := &ringkvv1.TransferSendRequest{Id: &ringkvv1.TransferID{Partition: 3, From: "n9", To: "n1", Epoch: 1}, Next: []byte("dz")}
	for _, k := range keys {
		set := vclock.Update(vclock.Set{}, vclock.VV{}, vclock.Actor(9), []byte("v"), false)
		req.Items = append(req.Items, &ringkvv1.TransferItem{Key: k, Set: set.Encode()})
	}
	return req
}

// Bad batches are refused with a clear error and change nothing: the
// receiver's cursor stays at zero, none of their keys is stored, and the
// node keeps serving. A batch past the cursor is refused with Aborted and
// the cursor, which the donor resumes from.
func TestTransferServiceRefusesBadBatchesAndChangesNothing(t *testing.T) {
	n := startAlone(t, node.Deps{}, func(cfg *node.Config) { cfg.MaxValueBytes, cfg.MaxSiblings = 1024, 1 })
	keys := keysOfPartition(3, 2)
	other := keysOfPartition(4, 1)[0]
	many := make([][]byte, transfers.MaxBatchKeys+1)
	for i := range many {
		many[i] = keys[0]
	}
	cases := []struct {
		name string
		req  func() *ringkvv1.TransferSendRequest
		code connect.Code
		says string
	}{
		{"no id", func() *ringkvv1.TransferSendRequest { r := goodBatch(keys...); r.Id = nil; return r }, connect.CodeInvalidArgument, "names no transfer"},
		{"unknown partition", func() *ringkvv1.TransferSendRequest { r := goodBatch(keys...); r.Id.Partition = 16; return r }, connect.CodeInvalidArgument, "partition 16 is not in 0..15"},
		{"to another node", func() *ringkvv1.TransferSendRequest { r := goodBatch(keys...); r.Id.To = "n2"; return r }, connect.CodeInvalidArgument, "this node is n1"},
		{"from no node", func() *ringkvv1.TransferSendRequest { r := goodBatch(keys...); r.Id.From = ""; return r }, connect.CodeInvalidArgument, "donor"},
		{"key of another partition", func() *ringkvv1.TransferSendRequest { return goodBatch(keys[0], other) }, connect.CodeInvalidArgument, "not in partition 3"},
		{"malformed version set", func() *ringkvv1.TransferSendRequest {
			r := goodBatch(keys...)
			r.Items[1].Set = []byte{0xff, 1}
			return r
		}, connect.CodeInvalidArgument, "malformed"},
		{"empty key", func() *ringkvv1.TransferSendRequest { r := goodBatch(keys...); r.Items[0].Key = nil; return r }, connect.CodeInvalidArgument, "empty key"},
		{"negative reap time", func() *ringkvv1.TransferSendRequest {
			r := goodBatch(keys...)
			r.Items[0].TombSinceUnixNs = -1
			return r
		}, connect.CodeInvalidArgument, "reap time"},
		{"cursor going back", func() *ringkvv1.TransferSendRequest {
			r := goodBatch(keys...)
			r.After, r.Next = []byte("dz"), []byte("da")
			return r
		}, connect.CodeInvalidArgument, "cursor goes back"},
		{"too many keys", func() *ringkvv1.TransferSendRequest { return goodBatch(many...) }, connect.CodeInvalidArgument, "at most 65536"},
		{"oversized", func() *ringkvv1.TransferSendRequest {
			r := goodBatch(keys...)
			r.Items[0].Set = bytes.Repeat([]byte{1}, 6<<20)
			return r
		}, connect.CodeResourceExhausted, "larger than configured max"},
		{"past the cursor", func() *ringkvv1.TransferSendRequest { r := goodBatch(keys...); r.After = []byte("da"); return r }, connect.CodeAborted, "past the receiver's cursor"},
	}
	for _, tc := range cases {
		err := sendBatch(n, "", tc.req())
		if connect.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v; want %v saying %q", tc.name, err, tc.code, tc.says)
		}
		if tc.code == connect.CodeAborted {
			checkGapCursor(t, err)
		}
	}
	resp, err := transferClient(n).Cursor(context.Background(), connect.NewRequest(&ringkvv1.TransferCursorRequest{Id: goodBatch().Id}))
	if err != nil || len(resp.Msg.GetCursor().GetAfter()) != 0 || resp.Msg.GetCursor().GetDone() {
		t.Fatalf("after the refused batches the cursor is %v (%v); want none", resp.Msg.GetCursor(), err)
	}
	cl := client.New(n.Addr())
	defer cl.Close()
	never, err := cl.GetLocal(context.Background(), []byte("never written"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		res, err := cl.GetLocal(context.Background(), k)
		if err != nil || res.Found || !bytes.Equal(res.Context, never.Context) {
			t.Fatalf("%s after the refused batches: %+v, %v; want nothing stored", k, res, err)
		}
	}
	if tot := n.TransferTotals(); tot.KeysReceived != 0 || tot.RefusedBatches == 0 {
		t.Fatalf("totals after refused batches: %+v", tot)
	}
	if err := sendBatch(n, "", goodBatch(keys...)); err != nil {
		t.Fatalf("a good batch after the bad ones: %v", err)
	}
}

// StartTransfer refuses a transfer this node cannot send, and
// ForgetTransfer one it does not receive.
func TestStartTransferRefusesWhatThisNodeCannotSend(t *testing.T) {
	n := startAlone(t, node.Deps{})
	for _, id := range []transfers.ID{
		{Partition: 1, From: "n2", To: "n3"},
		{Partition: 1, From: "n1", To: "n1"},
		{Partition: 1, From: "n1", To: ""},
		{Partition: 16, From: "n1", To: "n2"},
		{Partition: -1, From: "n1", To: "n2"},
	} {
		if err := n.StartTransfer(id); !errors.Is(err, node.ErrBadTransfer) {
			t.Errorf("StartTransfer(%v): %v; want ErrBadTransfer", id, err)
		}
	}
	if err := n.ForgetTransfer(transfers.ID{Partition: 1, From: "n1", To: "n2"}); !errors.Is(err, node.ErrBadTransfer) {
		t.Errorf("ForgetTransfer of a transfer to n2 on n1: %v; want ErrBadTransfer", err)
	}
	if got := n.Transfers(); len(got) != 0 {
		t.Fatalf("a node that started nothing lists %+v", got)
	}
}

// checkGapCursor fails unless err carries the receiver's cursor (none).
func checkGapCursor(t *testing.T, err error) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || len(ce.Details()) != 1 {
		t.Fatalf("gap error %v carries no cursor", err)
	}
	v, derr := ce.Details()[0].Value()
	if cur, ok := v.(*ringkvv1.TransferCursor); derr != nil || !ok || len(cur.GetAfter()) != 0 {
		t.Fatalf("gap error's detail %v (%v); want the receiver's empty cursor", v, derr)
	}
}

// The fault layer refuses a transfer from across a partition, as it does
// replica calls.
func TestTransferServiceIsCutByTheFaultLayer(t *testing.T) {
	layer := faults.NewLayer("n1", slog.New(slog.DiscardHandler))
	n := startAlone(t, node.Deps{Faults: layer, GossipTransport: layer.Transport, Dial: layer.Dialer(nil)})
	if err := setFaults(n, &ringkvv1.Faults{Groups: []*ringkvv1.FaultGroup{{Nodes: []string{"n1"}}, {Nodes: []string{"n9"}}}}); err != nil {
		t.Fatal(err)
	}
	batch := goodBatch(keysOfPartition(3, 1)...)
	if err := sendBatch(n, "n9", batch); connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "refuses calls from n9") {
		t.Fatalf("a batch from n9 across the partition: %v; want Unavailable", err)
	}
	if err := setFaults(n, &ringkvv1.Faults{}); err != nil {
		t.Fatal(err)
	}
	if err := sendBatch(n, "n9", batch); err != nil {
		t.Fatalf("the batch after the heal: %v", err)
	}
}
