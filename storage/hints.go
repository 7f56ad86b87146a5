package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ringkv/ringkv/storage/hintwindow"
	"github.com/ringkv/ringkv/vclock"
)

// Hints live beside the data in the same Pebble database:
//
//	'h' | target id | 0x00 | data key  →  created (8 bytes, unix ns, big-endian) | encoded vclock.Set
//
// with an index by creation time beside them (hintindex.go), written in
// the same batch. One hint per (target, key): a later hint for the same
// pair is synced into it and the hint's creation time moves to the later
// write's (hintwindow.Merged), so the window counts from the newest write
// the target missed.
const prefixHint = 'h'

// Pages in which hints are read: delivery and scans hold an iterator only
// while they read a page, never while they use it.
const (
	hintPageHints = 64
	hintPageBytes = 4 << 20 // a page holds at least one hint, whatever its size
)

var (
	// ErrHintBudget refuses a hint that would take a target's hints over
	// the byte budget.
	ErrHintBudget = errors.New("storage: hint budget for the target is exhausted")
	errBadHint    = errors.New("storage: malformed hint")
)

// HintStats describes the hints held for one target.
type HintStats struct {
	Count  int64
	Bytes  int64
	Oldest time.Time // zero when Count is 0; exact after expiry, else may be older than the oldest left
}

func hintPrefix(target string) []byte {
	p := make([]byte, 0, len(target)+2)
	p = append(p, prefixHint)
	p = append(p, target...)
	return append(p, 0)
}

func hintKey(target string, key []byte) []byte {
	return append(hintPrefix(target), dataKey(key)...)
}

// hintUserKey returns the client key inside a hint key for target.
func hintUserKey(target string, hk []byte) []byte {
	return hk[len(hintPrefix(target))+9:]
}

// hintCreated reads the creation time at the head of a stored hint.
func hintCreated(raw []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(raw[:8])))
}

func encodeHint(created time.Time, set vclock.Set) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(created.UnixNano()))
	return set.AppendEncode(b)
}

func decodeHint(raw []byte) (time.Time, vclock.Set, error) {
	if len(raw) < 8 {
		return time.Time{}, vclock.Set{}, errBadHint
	}
	set, err := vclock.Decode(raw[8:])
	if err != nil {
		return time.Time{}, vclock.Set{}, fmt.Errorf("%w: %w", errBadHint, err)
	}
	return hintCreated(raw), set, nil
}

// StoreHint durably merges in into the hint kept for target and key. It
// refuses with ErrHintBudget when the target's hints would exceed budget
// bytes (0: no budget).
func (s *Store) StoreHint(target string, key []byte, in vclock.Set, now time.Time, budget int64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.disk.admit(); err != nil {
		return err
	}
	hk := hintKey(target, key)
	st := s.locks.lock(hk)
	b, err := s.applyHint(target, hk, in, now, budget)
	st.Unlock()
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.SyncWait(); err != nil {
		return fmt.Errorf("storage: sync hint: %w", err)
	}
	return nil
}

// applyHint writes the hint and its index entry in one batch, so a crash
// keeps both or neither.
func (s *Store) applyHint(target string, hk []byte, in vclock.Set, now time.Time, budget int64) (*pebble.Batch, error) {
	old, err := s.getRaw(hk)
	if err != nil {
		return nil, err
	}
	created, merged := now, in
	if old != nil {
		c, set, err := decodeHint(old)
		if err != nil {
			return nil, err
		}
		created, merged = hintwindow.Merged(c, now), s.sync(set, in)
	}
	val := encodeHint(created, merged)
	grow := int64(len(hk) + len(val))
	if old != nil {
		grow = int64(len(val) - len(old))
	}
	if !s.hints.reserve(target, grow, old == nil, created, budget) {
		return nil, fmt.Errorf("%w: %s holds %d bytes of hints, the budget is %d (--hint-budget-bytes)",
			ErrHintBudget, target, s.hints.stats(target).Bytes, budget)
	}
	b := s.db.NewBatch()
	_ = b.Set(hk, val, nil)
	indexHint(b, target, hk, old, val)
	if err := s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		b.Close()
		s.hints.release(target, grow, old == nil)
		return nil, fmt.Errorf("storage: write hint: %w", err)
	}
	return b, nil
}

// Hint is one stored hint, as ScanHints yields it.
type Hint struct {
	Target  string
	Key     []byte
	Created time.Time
	raw     []byte // the stored bytes, for DeleteHintIf
	hk      []byte
}

// Size is what the hint counts against its target's hint budget.
func (h Hint) Size() int64 { return int64(len(h.hk) + len(h.raw)) }

// Set is the hint's encoded version set, as it is sent to its target.
func (h Hint) Set() []byte { return h.raw[8:] }

// ScanHints calls fn for each hint held for target, in key order, until fn
// returns false. Hints that cannot be decoded are skipped. It reads hints
// a page at a time and calls fn with no iterator open and no lock held,
// so fn may wait, and may write or delete hints.
func (s *Store) ScanHints(target string, fn func(Hint) bool) error {
	var after []byte
	for {
		page, last, err := s.hintPage(target, after)
		if err != nil || last == nil {
			return err
		}
		for _, h := range page {
			if !fn(h) {
				return nil
			}
		}
		after = last
	}
}

// hintPage reads the next page of target's hints after the hint key after
// (nil: from the first), copied out of Pebble, and the last key it read
// (nil when there were none).
func (s *Store) hintPage(target string, after []byte) (page []Hint, last []byte, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, nil, ErrClosed
	}
	prefix := hintPrefix(target)
	lower := prefix
	if after != nil {
		lower = append(bytes.Clone(after), 0)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	size := 0
	for ok := it.First(); ok && len(page) < hintPageHints && size < hintPageBytes; ok = it.Next() {
		s.hints.keysRead.Add(1)
		raw, hk := it.Value(), bytes.Clone(it.Key())
		last = hk
		if len(raw) < 8 || len(hk) < len(prefix)+9 {
			continue
		}
		page = append(page, Hint{Target: target, Key: hintUserKey(target, hk), hk: hk, raw: bytes.Clone(raw),
			Created: hintCreated(raw)})
		size += len(raw)
	}
	return page, last, it.Error()
}

// DeleteHintIf removes h if it is unchanged since it was scanned, so a hint
// merged meanwhile is kept for the next delivery. It reports whether it
// deleted.
func (s *Store) DeleteHintIf(h Hint) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false, ErrClosed
	}
	defer s.locks.lock(h.hk).Unlock()
	cur, err := s.getRaw(h.hk)
	if err != nil || !bytes.Equal(cur, h.raw) {
		return false, err
	}
	// Not synced: after a crash the hint (with its index entry: one
	// batch) is delivered again, which sync makes harmless.
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(h.hk, nil)
	_ = b.Delete(hintIndexKey(h.Target, hintCreated(h.raw), h.hk), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return false, fmt.Errorf("storage: delete hint: %w", err)
	}
	s.hints.release(h.Target, int64(len(h.hk)+len(h.raw)), true)
	return true, nil
}

// HintStats returns the hints held per target.
func (s *Store) HintStats() map[string]HintStats { return s.hints.all() }

// prefixEnd is the first key after every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// HintKeysRead counts the hint and index keys the store's hint scans and
// expiry have stepped over since it opened: what hint upkeep costs.
func (s *Store) HintKeysRead() uint64 { return s.hints.keysRead.Load() }
