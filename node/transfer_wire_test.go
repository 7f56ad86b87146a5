package node

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/transfers"
)

// A batch crosses the wire unchanged: keys, sets, the reap state of a
// tombstone (to the nanosecond), cursors and the done flag.
func TestTransferBatchCrossesTheWireUnchanged(t *testing.T) {
	since := time.Unix(1_700_000_000, 123456789)
	for _, b := range []transfers.Batch{
		{ID: transfers.ID{Partition: 7, From: "n1", To: "n4", Epoch: 9}, After: []byte("d1"), Next: []byte("h2"), Done: true,
			Items: []storage.TransferItem{{Key: []byte("a"), Set: []byte{1, 2}}, {Key: []byte("b"), Set: []byte{3}, TombSince: since}}},
		{ID: transfers.ID{Partition: 0, From: "x", To: "y"}, Items: []storage.TransferItem{}},
	} {
		got := batchFromProto(batchProto(b))
		for i := range got.Items {
			if !got.Items[i].TombSince.Equal(b.Items[i].TombSince) {
				t.Fatalf("item %d's reap state %v came back as %v", i, b.Items[i].TombSince, got.Items[i].TombSince)
			}
			got.Items[i].TombSince = b.Items[i].TombSince
		}
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("batch %+v came back as %+v", b, got)
		}
	}
}

// Errors map both ways: a gap comes back as a *GapError with the
// receiver's cursor, a bad batch as ErrBadBatch, anything else as it was
// (the Manager retries it).
func TestTransferErrorsCrossTheWireBothWays(t *testing.T) {
	cur := transfers.Cursor{After: []byte("d42"), Done: false}
	gap, ok := errors.AsType[*transfers.GapError](transferErrorFromWire(transferErrorToWire(&transfers.GapError{Cursor: cur})))
	if !ok || !reflect.DeepEqual(gap.Cursor, cur) {
		t.Fatalf("a gap came back as %v", gap)
	}
	if err := transferErrorFromWire(transferErrorToWire(transfers.ErrBadBatch)); !errors.Is(err, transfers.ErrBadBatch) {
		t.Fatalf("a bad batch came back as %v", err)
	}
	if err := transferErrorFromWire(transferErrorToWire(storage.ErrClosed)); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("a closed store came back as %v", err)
	}
}
