package node

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"github.com/ringkv/ringkv/transfers"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A node hosts partition transfers (package transfers) on both sides: one
// Manager sends this node's partitions to pending owners over Connect
// (transferPeer), and one Receiver, behind TransferService, applies what
// donors send. Nothing starts a transfer yet but StartTransfer: the agreed
// ring will call it for each partition whose target changes.

// ErrBadTransfer refuses a transfer this node cannot send or forget.
var ErrBadTransfer = errors.New("node: bad transfer")

// States of a transfer this node receives (the Manager's are a donor's).
const (
	Receiving    transfers.State = "receiving" // a batch arrived, the last has not
	ReceivedDone transfers.State = "done"      // the last batch is applied
)

// A node's role in a transfer.
const (
	RoleSend    = "send"    // this node is the donor
	RoleReceive = "receive" // this node is the pending owner
)

// Bounds on the progress kept of transfers received: at most maxInbound,
// and a finished one for inboundKeep after its last batch.
const (
	maxInbound  = 4096
	inboundKeep = 10 * time.Minute
)

// TransferStatus is one transfer as Transfers reports it.
type TransferStatus struct {
	Role string // RoleSend or RoleReceive
	transfers.Progress
}

// TransferTotals sum up this node's transfers since it started.
type TransferTotals struct {
	Sending, Receiving int   // in progress now
	BytesSent          int64 // every byte sent, resends included
	KeysReceived       int64 // keys applied here from transfers
	BytesReceived      int64
	SentDone, RecvDone uint64 // transfers finished
	FailedAttempts     uint64 // calls to receivers that failed (each retried)
	RefusedBatches     uint64 // batches this node refused as a receiver (gaps excluded)
}

// transferHost is a node's side of transfers.
type transferHost struct {
	mgr  *transfers.Manager
	recv *transfers.Receiver
	now  func() time.Time

	sentDone, recvDone, failed, refused atomic.Uint64
	keysIn, bytesIn                     atomic.Int64

	mu      sync.Mutex
	inbound map[transfers.ID]*inbound
}

// inbound is the progress of one transfer this node receives, as its
// batches arrive (since this node started).
type inbound struct {
	cursor              transfers.Cursor
	keys, bytes         int64
	started, last       time.Time
	fraction, fraction0 float64 // now, and after the first batch seen
	lastErr             string
}

// startTransfers builds the node's transfer host; the Manager is closed
// when the node stops, before the peers' connections and storage.
func (n *Node) startTransfers() error {
	x := &transferHost{now: time.Now, inbound: map[transfers.ID]*inbound{}}
	cfg := n.cfg.Transfers
	cfg.Logger = n.log.With("component", "transfers")
	cfg.OnDone = func(id transfers.ID) {
		x.sentDone.Add(1)
		cfg.Logger.Info("transfer sent", "transfer", id.String())
	}
	mgr, err := transfers.New(cfg, n.store)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	x.mgr = mgr
	x.recv = transfers.NewReceiver(n.store, func(id transfers.ID) {
		x.recvDone.Add(1)
		cfg.Logger.Info("transfer received", "transfer", id.String())
	})
	n.xfer = x
	n.loops.Go(func() {
		<-n.stop
		mgr.Close()
	})
	return nil
}

// StartTransfer starts sending partition id.Partition from this node
// (id.From) to node id.To, resuming from wherever id.To's copy stands;
// starting a running transfer does nothing. Epoch must change whenever a
// copy made before may have gone stale (see transfers.ID).
func (n *Node) StartTransfer(id transfers.ID) error {
	switch {
	case id.From != n.cfg.ID:
		return fmt.Errorf("%w: %v is sent by %s, not by this node (%s)", ErrBadTransfer, id, id.From, n.cfg.ID)
	case id.To == n.cfg.ID || !validID(id.To):
		return fmt.Errorf("%w: %v: the receiver %q is not another node's id", ErrBadTransfer, id, id.To)
	case id.Partition < 0 || id.Partition >= n.cfg.Partitions:
		return fmt.Errorf("%w: %v: partition %d is not in 0..%d", ErrBadTransfer, id, id.Partition, n.cfg.Partitions-1)
	}
	x := n.xfer
	return x.mgr.Start(id, transferPeer{peers: n.peers, id: id.To, failed: func() { x.failed.Add(1) }})
}

// CancelTransfer stops sending id, if it is running; the receiver keeps
// its cursor, so a later StartTransfer resumes.
func (n *Node) CancelTransfer(id transfers.ID) { n.xfer.mgr.Cancel(id) }

// ForgetTransfer drops this node's cursor of id, a transfer it received
// (once its partition settled, or the copy was abandoned): a later batch
// of id starts from zero.
func (n *Node) ForgetTransfer(id transfers.ID) error {
	if id.To != n.cfg.ID {
		return fmt.Errorf("%w: %v is received by %s, not by this node (%s)", ErrBadTransfer, id, id.To, n.cfg.ID)
	}
	if err := n.xfer.recv.Forget(id); err != nil {
		return err
	}
	n.xfer.mu.Lock()
	delete(n.xfer.inbound, id)
	n.xfer.mu.Unlock()
	return nil
}

// Transfers reports every transfer this node sends (the Manager's
// progress) and those it received a batch of since it started (finished
// ones for a while), sends first, each by ID.
func (n *Node) Transfers() []TransferStatus {
	var out []TransferStatus
	for _, p := range n.xfer.mgr.Snapshot() {
		out = append(out, TransferStatus{Role: RoleSend, Progress: p})
	}
	return append(out, n.xfer.received()...)
}

// TransferTotals sums up this node's transfers.
func (n *Node) TransferTotals() TransferTotals {
	x := n.xfer
	t := TransferTotals{Sending: len(x.mgr.Snapshot()), BytesSent: x.mgr.BytesSent(), KeysReceived: x.keysIn.Load(),
		BytesReceived: x.bytesIn.Load(), SentDone: x.sentDone.Load(), RecvDone: x.recvDone.Load(),
		FailedAttempts: x.failed.Load(), RefusedBatches: x.refused.Load()}
	for _, s := range x.received() {
		if s.State == Receiving {
			t.Receiving++
		}
	}
	return t
}

// received is the progress of the transfers this node receives.
func (x *transferHost) received() []TransferStatus {
	now := x.now()
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]TransferStatus, 0, len(x.inbound))
	for id, in := range x.inbound {
		out = append(out, TransferStatus{Role: RoleReceive, Progress: in.progress(id, now)})
	}
	slices.SortFunc(out, func(a, b TransferStatus) int { return compareTransferID(a.ID, b.ID) })
	return out
}

// progress reports in at now, in the Manager's terms: rate and ETA from
// the first batch this node saw.
func (in *inbound) progress(id transfers.ID, now time.Time) transfers.Progress {
	p := transfers.Progress{ID: id, State: Receiving, Keys: in.keys, Bytes: in.bytes, Fraction: in.fraction,
		ETA: -1, LastErr: in.lastErr, Started: in.started}
	if in.cursor.Done {
		p.State, p.ETA = ReceivedDone, 0
		return p
	}
	if elapsed := now.Sub(in.started); elapsed > 0 {
		p.Rate = float64(in.bytes) / elapsed.Seconds()
		if gained := in.fraction - in.fraction0; gained > 0 {
			p.ETA = time.Duration(float64(elapsed) * (1 - in.fraction) / gained)
		}
	}
	return p
}

// sawBatch records a batch b this node was sent and what its Receiver
// answered: the cursor after it, or the error.
func (x *transferHost) sawBatch(b transfers.Batch, cur transfers.Cursor, err error, fraction func([]byte) float64) {
	now := x.now()
	x.mu.Lock()
	defer x.mu.Unlock()
	in := x.inboundLocked(b.ID, now)
	in.last = now
	if err != nil {
		if !errors.Is(err, transfers.ErrGap) {
			x.refused.Add(1)
			in.lastErr = err.Error()
		}
		return
	}
	// Only a batch that moved the cursor to its end was applied now; a
	// duplicate or late one leaves the cursor where it stood. (The first
	// batch seen after a restart, if it repeats the last one applied
	// before, is counted again: this is progress, not an invariant.)
	applied := bytes.Equal(cur.After, b.Next) && cur.Done == b.Done && !sameCursor(in.cursor, cur)
	in.cursor = cur
	if !applied {
		return
	}
	in.keys += int64(len(b.Items))
	in.bytes += b.Size()
	x.keysIn.Add(int64(len(b.Items)))
	x.bytesIn.Add(b.Size())
	in.fraction = fraction(cur.After)
	if cur.Done {
		in.fraction = 1
	}
	if in.keys == int64(len(b.Items)) {
		in.fraction0 = in.fraction
	}
}

func sameCursor(a, b transfers.Cursor) bool { return a.Done == b.Done && bytes.Equal(a.After, b.After) }

// inboundLocked returns id's progress, making room for it among at most
// maxInbound by dropping the longest idle (finished ones first).
func (x *transferHost) inboundLocked(id transfers.ID, now time.Time) *inbound {
	if in, ok := x.inbound[id]; ok {
		return in
	}
	for old, in := range x.inbound {
		if in.cursor.Done && now.Sub(in.last) > inboundKeep {
			delete(x.inbound, old)
		}
	}
	if len(x.inbound) >= maxInbound {
		delete(x.inbound, x.idlestLocked())
	}
	in := &inbound{started: now, last: now}
	x.inbound[id] = in
	return in
}

// idlestLocked is the transfer to drop first: finished before running,
// then the one that heard nothing the longest.
func (x *transferHost) idlestLocked() transfers.ID {
	var pick transfers.ID
	var best *inbound
	for id, in := range x.inbound {
		if best == nil || (in.cursor.Done && !best.cursor.Done) ||
			(in.cursor.Done == best.cursor.Done && in.last.Before(best.last)) {
			pick, best = id, in
		}
	}
	return pick
}

// compareTransferID orders transfers by partition, donor, receiver, epoch.
func compareTransferID(a, b transfers.ID) int {
	return cmp.Or(cmp.Compare(a.Partition, b.Partition), strings.Compare(a.From, b.From),
		strings.Compare(a.To, b.To), cmp.Compare(a.Epoch, b.Epoch))
}
