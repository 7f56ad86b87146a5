package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ringkv/ringkv/storage/hintwindow"
)

// The hint index orders each target's hints by creation time, so expiry
// reads the expired hints and no others:
//
//	'e' | target id | 0x00 | created (8 bytes, unix ns with the sign bit flipped, big-endian) | data key  →  empty
//
// Every write and delete of a hint changes its index entry in the same
// batch, so a crash leaves both or neither.
const prefixHintIndex = 'e'

func hintIndexPrefix(target string) []byte {
	p := make([]byte, 0, len(target)+2)
	p = append(p, prefixHintIndex)
	p = append(p, target...)
	return append(p, 0)
}

// hintIndexKey is the index entry of the hint stored under hk, created at
// created. Flipping the sign bit makes byte order time order.
func hintIndexKey(target string, created time.Time, hk []byte) []byte {
	k := binary.BigEndian.AppendUint64(hintIndexPrefix(target), uint64(created.UnixNano())^(1<<63))
	return append(k, hk[len(hintPrefix(target)):]...)
}

// hintKeyOfIndex returns the hint key an index entry of target names.
func hintKeyOfIndex(target string, ik []byte) ([]byte, bool) {
	n := len(hintIndexPrefix(target)) + 8
	if len(ik) < n+9 {
		return nil, false
	}
	return append(hintPrefix(target), ik[n:]...), true
}

// indexCreated reads the creation time out of an index entry of target.
func indexCreated(target string, ik []byte) time.Time {
	n := len(hintIndexPrefix(target))
	return time.Unix(0, int64(binary.BigEndian.Uint64(ik[n:n+8])^(1<<63)))
}

// indexHint adds to b the index change for the hint under hk going from
// the stored bytes old (nil: none) to val.
func indexHint(b *pebble.Batch, target string, hk, old, val []byte) {
	if old != nil {
		if bytes.Equal(old[:8], val[:8]) {
			return
		}
		_ = b.Delete(hintIndexKey(target, hintCreated(old), hk), nil)
	}
	_ = b.Set(hintIndexKey(target, hintCreated(val), hk), nil, nil)
}

// ExpireHints drops target's hints that are past window at now and
// records the creation time of the oldest left in HintStats. It reads the
// index entries of the hints it drops and one more, whatever else target
// holds. It returns how many hints it dropped.
func (s *Store) ExpireHints(target string, now time.Time, window time.Duration) (int, error) {
	bound := hintIndexKey(target, hintwindow.Cutoff(now, window), hintPrefix(target))
	var after []byte
	dropped := 0
	for {
		page, err := s.indexPage(target, after, bound)
		if err != nil {
			return dropped, err
		}
		for _, ik := range page {
			ok, err := s.dropExpiredHint(target, ik, now, window)
			if err != nil {
				return dropped, err
			}
			if ok {
				dropped++
			}
		}
		if len(page) < hintPageHints {
			break
		}
		after = page[len(page)-1]
	}
	return dropped, s.refreshOldest(target)
}

// indexPage reads the next page of target's index entries after the entry
// after (nil: from the first) and below bound, copied out of Pebble.
func (s *Store) indexPage(target string, after, bound []byte) ([][]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	lower := hintIndexPrefix(target)
	if after != nil {
		lower = append(bytes.Clone(after), 0)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: bound})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var page [][]byte
	for ok := it.First(); ok && len(page) < hintPageHints; ok = it.Next() {
		s.hints.keysRead.Add(1)
		page = append(page, bytes.Clone(it.Key()))
	}
	return page, it.Error()
}

// dropExpiredHint deletes the index entry ik of target and, if it is
// still the entry of its hint and the hint is past window at now, the
// hint. An entry that is not its hint's (the hint was merged since the
// page was read, so the entry is gone, or it was delivered) is only
// deleted. It reports whether it dropped a hint.
func (s *Store) dropExpiredHint(target string, ik []byte, now time.Time, window time.Duration) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false, ErrClosed
	}
	hk, ok := hintKeyOfIndex(target, ik)
	if !ok {
		return false, s.db.Delete(ik, pebble.NoSync)
	}
	defer s.locks.lock(hk).Unlock()
	raw, err := s.getRaw(hk)
	if err != nil {
		return false, err
	}
	drop := len(raw) >= 8 && bytes.Equal(hintIndexKey(target, hintCreated(raw), hk), ik) &&
		hintwindow.Expired(hintCreated(raw), now, window)
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(ik, nil)
	if drop {
		_ = b.Delete(hk, nil)
	}
	// Not synced, as DeleteHintIf: after a crash the hint expires again.
	if err := b.Commit(pebble.NoSync); err != nil {
		return false, fmt.Errorf("storage: expire hint: %w", err)
	}
	if drop {
		s.hints.release(target, int64(len(hk)+len(raw)), true)
	}
	return drop, nil
}

// refreshOldest records the creation time of target's oldest hint, the
// first entry of its index.
func (s *Store) refreshOldest(target string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	prefix := hintIndexPrefix(target)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	if it.First() {
		s.hints.keysRead.Add(1)
		s.hints.setOldest(target, indexCreated(target, it.Key()))
	}
	return it.Error()
}

// loadHintStats rebuilds the per-target totals from disk at start-up, and
// the index of any target whose index does not match its hints (a data
// directory written before the index existed).
func (s *Store) loadHintStats() error {
	if err := s.eachHintKey([]byte{prefixHint}, func(target string, k, v []byte) {
		s.hints.reserve(target, int64(len(k)+len(v)), true, hintCreated(v), 0)
	}); err != nil {
		return err
	}
	indexed := map[string]int64{}
	if err := s.eachHintKey([]byte{prefixHintIndex}, func(target string, _, _ []byte) { indexed[target]++ }); err != nil {
		return err
	}
	for target, st := range s.hints.all() {
		if indexed[target] != st.Count {
			if err := s.rebuildHintIndex(target); err != nil {
				return err
			}
		}
		delete(indexed, target)
	}
	for target := range indexed { // entries of a target without hints
		if err := s.rebuildHintIndex(target); err != nil {
			return err
		}
	}
	return nil
}

// eachHintKey calls fn with every well-formed key and value under prefix
// ('h' or 'e') and the target the key names. Start-up only: it holds an
// iterator across fn.
func (s *Store) eachHintKey(prefix []byte, fn func(target string, k, v []byte)) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		end := bytes.IndexByte(k[1:], 0)
		if end < 0 || (prefix[0] == prefixHint && len(v) < 8) {
			continue
		}
		fn(string(k[1:1+end]), k, v)
	}
	return it.Error()
}

// rebuildHintIndex rewrites target's index from its hints, in one synced
// batch.
func (s *Store) rebuildHintIndex(target string) error {
	b := s.db.NewBatch()
	defer b.Close()
	ip := hintIndexPrefix(target)
	_ = b.DeleteRange(ip, prefixEnd(ip), nil)
	hp := hintPrefix(target)
	err := s.eachHintKey(hp, func(_ string, k, v []byte) {
		_ = b.Set(hintIndexKey(target, hintCreated(v), k), nil, nil)
	})
	if err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("storage: rebuild hint index for %s: %w", target, err)
	}
	return nil
}

// VerifyHintIndex reports how target's index by creation time differs
// from its hints, if it does: every hint must have exactly one entry, at
// its creation time, and there must be no other.
func (s *Store) VerifyHintIndex(target string) error {
	var want, got [][]byte
	err := s.ScanHints(target, func(h Hint) bool {
		want = append(want, hintIndexKey(target, h.Created, h.hk))
		return true
	})
	if err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := hintIndexPrefix(target)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		got = append(got, bytes.Clone(it.Key()))
	}
	if err := it.Close(); err != nil {
		return err
	}
	slices.SortFunc(want, bytes.Compare)
	if !slices.EqualFunc(got, want, bytes.Equal) {
		return fmt.Errorf("storage: hint index for %s is %q; its hints call for %q", target, got, want)
	}
	return nil
}
