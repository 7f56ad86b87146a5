package transfers

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/cespare/xxhash/v2"

	"github.com/ringkv/ringkv/ring"
	"github.com/ringkv/ringkv/storage"
)

// Bounds on what a receiver accepts in one batch (a single item may exceed
// the bytes: a page holds at least one).
const (
	MaxBatchKeys  = 1 << 16
	MaxBatchBytes = 4 << 20
)

// Receiver applies transfer batches to its node's store. It is a Peer, so
// a donor can stream to it in process; node serves it over Connect.
type Receiver struct {
	store  *storage.Store
	onDone func(ID)
	// locks serialise the check-and-apply of one transfer's batches, so
	// two deliveries of one batch cannot both pass the cursor check.
	locks [64]sync.Mutex
}

// NewReceiver returns a Receiver over store. onDone (nil: none) is called
// once the last batch of a transfer is applied, by the goroutine that
// applied it: it must not block (node reports TransferDone after an
// anti-entropy exchange, in its own goroutine).
func NewReceiver(store *storage.Store, onDone func(ID)) *Receiver {
	return &Receiver{store: store, onDone: onDone}
}

func (r *Receiver) lock(id ID) *sync.Mutex {
	return &r.locks[xxhash.Sum64(metaKey(id))%uint64(len(r.locks))]
}

// Cursor returns where the copy of id stands on this node.
func (r *Receiver) Cursor(ctx context.Context, id ID) (Cursor, error) {
	if err := ctx.Err(); err != nil {
		return Cursor{}, err
	}
	raw, err := r.store.Meta(metaKey(id))
	if err != nil {
		return Cursor{}, fmt.Errorf("transfers: read cursor of %v: %w", id, err)
	}
	return decodeCursor(raw)
}

// Send applies b by merging, together with its cursor in one synced
// Pebble batch, and returns the cursor after it. A batch that ends at or
// before the cursor (a duplicate, or one delivered late) changes nothing;
// one that starts past it fails with a *GapError.
func (r *Receiver) Send(ctx context.Context, b Batch) (Cursor, error) {
	if err := r.check(b); err != nil {
		return Cursor{}, err
	}
	cur, finished, err := r.apply(ctx, b)
	if finished && r.onDone != nil {
		r.onDone(b.ID) // outside the transfer's lock
	}
	return cur, err
}

// apply applies b under its transfer's lock; finished reports that b
// completed the transfer.
func (r *Receiver) apply(ctx context.Context, b Batch) (cur Cursor, finished bool, err error) {
	mu := r.lock(b.ID)
	mu.Lock()
	defer mu.Unlock()
	cur, err = r.Cursor(ctx, b.ID)
	if err != nil || cur.Done || stale(b, cur) {
		return cur, false, err
	}
	if bytes.Compare(b.After, cur.After) > 0 {
		return cur, false, &GapError{Cursor: cur}
	}
	next := Cursor{After: b.Next, Done: b.Done}
	if err := r.store.ApplyTransfer(metaKey(b.ID), encodeCursor(next), b.Items); err != nil {
		return Cursor{}, false, fmt.Errorf("transfers: apply batch of %v: %w", b.ID, err)
	}
	return next, next.Done, nil
}

// stale reports whether everything b carries is already applied.
func stale(b Batch, cur Cursor) bool {
	c := bytes.Compare(b.Next, cur.After)
	return c < 0 || (c == 0 && !b.Done)
}

// Forget drops id's cursor (once its partition settled, or the copy was
// abandoned); a later batch of id starts from zero.
func (r *Receiver) Forget(id ID) error {
	return r.store.DeleteMeta(metaKey(id))
}

// check refuses a batch over the bounds, out of order, or with a key
// outside its partition.
func (r *Receiver) check(b Batch) error {
	parts := 1 << r.store.TreeConfig().PartitionBits
	if b.ID.Partition < 0 || b.ID.Partition >= parts {
		return fmt.Errorf("%w: partition %d not in 0..%d", ErrBadBatch, b.ID.Partition, parts-1)
	}
	if len(b.Items) > MaxBatchKeys || (len(b.Items) > 1 && b.Size() > MaxBatchBytes) {
		return fmt.Errorf("%w: %d keys, %d bytes; at most %d and %d", ErrBadBatch, len(b.Items), b.Size(), MaxBatchKeys, MaxBatchBytes)
	}
	if len(b.Items) > 0 && bytes.Compare(b.Next, b.After) <= 0 {
		return fmt.Errorf("%w: cursor goes back", ErrBadBatch)
	}
	lo, hi := r.store.HashRange(b.ID.Partition)
	for _, it := range b.Items {
		if len(it.Key) == 0 {
			return fmt.Errorf("%w: an empty key", ErrBadBatch)
		}
		if h := ring.KeyHash(it.Key); h < lo || h > hi {
			return fmt.Errorf("%w: key %q is not in partition %d", ErrBadBatch, it.Key, b.ID.Partition)
		}
	}
	return nil
}
