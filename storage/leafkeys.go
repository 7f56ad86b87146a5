package storage

import (
	"bytes"
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
	"github.com/cockroachdb/pebble/v2"

	"github.com/ringkv/ringkv/antientropy"
)

// Bounds of one page of leaf keys (LeafKeysPage), whoever asks.
const (
	defaultPageKeys  = antientropy.DefaultPageKeys
	maxPageKeys      = 1 << 16
	DefaultPageBytes = 1 << 20
	maxPageBytes     = 4 << 20
	// keyOverhead is what a listed key costs beside its bytes: its digest,
	// its tombstone flag and protobuf framing.
	keyOverhead = 8 + 1 + 4
)

// pageBounds turns a page's requested key and byte limits into the ones
// served: 0 means the default, and nothing exceeds the maximum.
func pageBounds(limit, maxBytes int) (int, int) {
	if limit <= 0 {
		limit = defaultPageKeys
	}
	if maxBytes <= 0 {
		maxBytes = DefaultPageBytes
	}
	return min(limit, maxPageKeys), min(maxBytes, maxPageBytes)
}

// LeafKeysPage lists one page of the keys of partition p in q's leaves, in
// key order, with their digests and whether each holds only tombstones:
// at most q.Limit keys and about maxBytes of them (at least one key). It
// reads one Pebble snapshot, so the tombstone flags (from the tombstone
// index) match the digests.
func (s *Store) LeafKeysPage(p int, q antientropy.KeysQuery, maxBytes int) (antientropy.KeysPage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return antientropy.KeysPage{}, ErrClosed
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	var t *antientropy.Tree
	s.trees.with(p, func(tr *antientropy.Tree) { t = tr })
	q.Limit, maxBytes = pageBounds(q.Limit, maxBytes)
	l := lister{q: q, maxBytes: maxBytes}
	for _, leaf := range q.Leaves {
		lo, hi := t.LeafRange(leaf, p)
		if done, err := l.scan(snap, lo, hi); err != nil || done {
			return l.page, err
		}
	}
	return l.page, nil
}

// lister fills one page of leaf keys.
type lister struct {
	q        antientropy.KeysQuery
	maxBytes int
	bytes    int
	page     antientropy.KeysPage
}

// scan appends the keys whose hash is in [lo, hi] and within the page's
// bounds; it reports whether the page is done (full, or past q.Until).
func (l *lister) scan(r pebble.Reader, lo, hi uint64) (bool, error) {
	lower := dataKeyAt(lo, nil)
	if len(l.q.After) > 0 {
		if after := xxhash.Sum64(l.q.After); after > hi {
			return false, nil
		} else if after >= lo {
			lower = append(dataKeyAt(after, l.q.After), 0) // the first key after it
		}
	}
	upper, tombUpper := prefixEnd([]byte{prefixData}), prefixEnd([]byte{prefixTombstone})
	if hi < ^uint64(0) {
		upper = dataKeyAt(hi+1, nil)
		tombUpper = tombstoneKey(upper)
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return false, err
	}
	defer it.Close()
	tombs, err := r.NewIter(&pebble.IterOptions{LowerBound: tombstoneKey(lower), UpperBound: tombUpper})
	if err != nil {
		return false, err
	}
	defer tombs.Close()
	tombs.First()
	for it.First(); it.Valid(); it.Next() {
		if done := l.add(it, tombs); done {
			return true, it.Error()
		}
	}
	return false, it.Error()
}

// add appends the data key under it, unless the page is done.
func (l *lister) add(it, tombs *pebble.Iterator) bool {
	key := it.Key()[9:]
	if len(l.q.Until) > 0 && antientropy.KeyOrder(key, l.q.Until) > 0 {
		return true
	}
	cost := len(key) + keyOverhead
	if len(l.page.Keys) == l.q.Limit || (len(l.page.Keys) > 0 && l.bytes+cost > l.maxBytes) {
		l.page.More = true
		return true
	}
	for tombs.Valid() && bytes.Compare(tombs.Key()[1:], it.Key()[1:]) < 0 {
		tombs.Next()
	}
	tomb := tombs.Valid() && bytes.Equal(tombs.Key()[1:], it.Key()[1:])
	l.bytes += cost
	l.page.Keys = append(l.page.Keys, antientropy.KeyDigest{Key: bytes.Clone(key), Digest: digestOf(it.Value()), Tombstone: tomb})
	return false
}

// dataKeyAt is the data key of key at hash h (key may be nil: the first
// key at h).
func dataKeyAt(h uint64, key []byte) []byte {
	return append(binary.BigEndian.AppendUint64([]byte{prefixData}, h), key...)
}
