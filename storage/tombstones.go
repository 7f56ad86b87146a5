package storage

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ringkv/ringkv/vclock"
)

// A key whose siblings are all tombstones is indexed under
//
//	'x' | xxhash(key) big-endian | key  →  when it became tombstone-only (unix ns)
//
// so the reaper finds a partition's tombstones with one range scan and
// knows their age. The entry goes when the key is written live again or
// reaped.
const prefixTombstone = 'x'

// TombstoneOnly reports whether s has siblings and all are tombstones.
func TombstoneOnly(s vclock.Set) bool { return len(s.Siblings) > 0 && !s.Found() }

func tombstoneKey(dk []byte) []byte {
	k := bytes.Clone(dk)
	k[0] = prefixTombstone
	return k
}

// indexTombstone keeps the tombstone index in step with a write to dk.
func (s *Store) indexTombstone(b *pebble.Batch, dk []byte, wasTomb, isTomb bool) {
	switch {
	case isTomb && !wasTomb:
		_ = b.Set(tombstoneKey(dk), binary.BigEndian.AppendUint64(nil, uint64(s.now().UnixNano())), nil)
	case wasTomb && !isTomb:
		_ = b.Delete(tombstoneKey(dk), nil)
	}
}

// Tombstone is a tombstone-only key found by ScanTombstones.
type Tombstone struct {
	Key    []byte
	Since  time.Time // when this replica first held it tombstone-only
	Digest uint64    // the version set's digest when scanned
}

// ScanTombstones lists the tombstone-only keys whose hash is in [lo, hi].
func (s *Store) ScanTombstones(lo, hi uint64, fn func(Tombstone) bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	it, err := s.hashRangeIter(prefixTombstone, lo, hi)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if len(it.Value()) != 8 || len(it.Key()) < 9 {
			continue
		}
		key := bytes.Clone(it.Key()[9:])
		raw, err := s.getRaw(dataKey(key))
		if err != nil {
			return err
		}
		t := Tombstone{Key: key, Since: time.Unix(0, int64(binary.BigEndian.Uint64(it.Value()))), Digest: digestOf(raw)}
		if !fn(t) {
			break
		}
	}
	return it.Error()
}

// Reap removes a tombstone-only key if it still has the digest the caller
// checked; it reports whether it did. Not synced: a reap lost in a crash is
// simply done again.
func (s *Store) Reap(key []byte, digest uint64) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false, ErrClosed
	}
	dk := dataKey(key)
	st := s.locks.lock(dk)
	defer st.Unlock()
	raw, err := s.readLocked(st, dk)
	if err != nil || raw == nil || digestOf(raw) != digest {
		return false, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(dk, nil)
	_ = b.Delete(tombstoneKey(dk), nil)
	st.forget(dk) // whether or not the commit succeeds
	if err := b.Commit(pebble.NoSync); err != nil {
		return false, err
	}
	s.trees.update(binary.BigEndian.Uint64(dk[1:9]), dk[9:], digest, 0)
	return true, nil
}
