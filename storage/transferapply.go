package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ringkv/ringkv/vclock"
)

// ErrBadTransfer refuses a transfer batch that cannot be applied as sent:
// a malformed version set, or a cursor key outside the node's state keys.
var ErrBadTransfer = errors.New("storage: malformed transfer batch")

// incoming is one key of a batch being applied: the items for it merged.
type incoming struct {
	dk    []byte
	set   vclock.Set
	since time.Time // the earliest reap state sent for the key; zero: none
}

// ApplyTransfer merges items into the store exactly as replica writes
// (Merge) would, never overwriting: each key becomes the sync of what it
// held and what was sent, so writes that reached this node directly are
// kept and applying a batch twice changes nothing. In the same Pebble batch,
// so that a crash keeps both or neither, it stores metaValue under
// metaKey (a node-state key, starting with 'm': the transfer's cursor). It
// returns once the batch is synced. A key that ends up tombstone-only
// keeps the earliest reap state among what it held and what was sent.
func (s *Store) ApplyTransfer(metaKey, metaValue []byte, items []TransferItem) error {
	if len(metaKey) < 2 || metaKey[0] != prefixMeta {
		return fmt.Errorf("%w: cursor key %q is not a node-state key", ErrBadTransfer, metaKey)
	}
	in, err := decodeIncoming(items)
	if err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.disk.admit(); err != nil {
		return err
	}
	b, err := s.applyIncoming(metaKey, metaValue, in)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.SyncWait(); err != nil {
		return fmt.Errorf("storage: sync transfer batch: %w", err)
	}
	return nil
}

// decodeIncoming decodes the items' sets and merges items for one key (a
// key's data and its hints can share a batch), in data key order.
func decodeIncoming(items []TransferItem) ([]incoming, error) {
	byKey := map[string]int{}
	var out []incoming
	for _, it := range items {
		set, err := vclock.Decode(it.Set)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %w", ErrBadTransfer, it.Key, err)
		}
		dk := dataKey(it.Key)
		i, seen := byKey[string(dk)]
		if !seen {
			byKey[string(dk)] = len(out)
			out = append(out, incoming{dk: dk, set: set, since: it.TombSince})
			continue
		}
		out[i].set = vclock.Sync(out[i].set, set)
		out[i].since = earliest(out[i].since, it.TombSince)
	}
	slices.SortFunc(out, func(a, b incoming) int { return bytes.Compare(a.dk, b.dk) })
	return out, nil
}

// earliest is the earlier of two reap states, zero meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// applyIncoming merges in under the keys' locks, all held until the batch
// is applied (so no concurrent write reads a state the batch replaces),
// and returns the batch for the caller to wait on its sync.
func (s *Store) applyIncoming(metaKey, metaValue []byte, in []incoming) (*pebble.Batch, error) {
	dks := make([][]byte, len(in))
	for i := range in {
		dks[i] = in[i].dk
	}
	stripes := s.locks.lockAll(dks)
	defer unlockAll(stripes)
	b := s.db.NewBatch()
	changes := make([]change, 0, len(in))
	for _, x := range in {
		c, err := s.mergeInto(b, x)
		if err != nil {
			b.Close()
			return nil, err
		}
		changes = append(changes, c)
	}
	_ = b.Set(metaKey, metaValue, nil)
	if err := s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		b.Close()
		for _, c := range changes {
			s.locks.stripe(c.dk).forget(c.dk)
		}
		return nil, fmt.Errorf("storage: write transfer batch: %w", err)
	}
	for _, c := range changes {
		s.applied(c)
	}
	return b, nil
}

// change is one key's merge, to publish once its batch is applied.
type change struct {
	dk, old, enc []byte // enc nil: unchanged
}

// mergeInto adds to b the sync of what dk holds and x, with its tombstone
// index entry; the caller holds dk's lock.
func (s *Store) mergeInto(b *pebble.Batch, x incoming) (change, error) {
	st := s.locks.stripe(x.dk)
	raw, err := s.readLocked(st, x.dk)
	if err != nil {
		return change{}, err
	}
	var cur vclock.Set
	if raw != nil {
		if cur, err = vclock.Decode(raw); err != nil {
			return change{}, fmt.Errorf("storage: stored version set: %w", err)
		}
	}
	next := s.sync(cur, x.set)
	enc := next.Encode()
	if bytes.Equal(enc, raw) {
		return change{dk: x.dk}, nil
	}
	if err := s.indexTransferred(b, x, raw != nil && TombstoneOnly(cur), TombstoneOnly(next)); err != nil {
		return change{}, err
	}
	_ = b.Set(x.dk, enc, nil)
	return change{dk: x.dk, old: raw, enc: enc}, nil
}

// indexTransferred keeps the tombstone index in step with a transferred
// key: a key that ends tombstone-only keeps the earliest reap state among
// its own and the sender's (now when neither has one), so a tombstone's
// grace period runs from when its cluster first held it, as on the sender.
func (s *Store) indexTransferred(b *pebble.Batch, x incoming, wasTomb, isTomb bool) error {
	tk := tombstoneKey(x.dk)
	if !isTomb {
		if wasTomb {
			_ = b.Delete(tk, nil)
		}
		return nil
	}
	since := x.since
	if wasTomb {
		old, err := s.getRaw(tk)
		if err != nil {
			return err
		}
		if len(old) == 8 {
			since = earliest(since, time.Unix(0, int64(binary.BigEndian.Uint64(old))))
		}
	}
	if since.IsZero() {
		since = s.now()
	}
	_ = b.Set(tk, binary.BigEndian.AppendUint64(nil, uint64(since.UnixNano())), nil)
	return nil
}

// applied publishes an applied change to the key's cache and its tree;
// the caller holds the key's lock.
func (s *Store) applied(c change) {
	if c.enc == nil {
		return
	}
	s.locks.stripe(c.dk).remember(c.dk, c.enc)
	s.trees.update(binary.BigEndian.Uint64(c.dk[1:9]), c.dk[9:], digestOf(c.old), digestOf(c.enc))
}
