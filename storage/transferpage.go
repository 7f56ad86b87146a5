package storage

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// A partition transfer (package transfers) reads a partition as a stream
// of pages: first its data keys in key order, each with its version set and
// its reap state, then, target by target in name order, the hints this node
// holds for keys of the partition. A cursor is the Pebble key of the last
// entry sent: a data key ('d' | hash | key) and then a hint key ('h' |
// target | 0 | data key). Byte order of cursors is the stream's order, so a
// receiver can tell an older cursor from a newer one.

// transferItemOverhead is what an item costs beside its key and set: its
// reap time and framing.
const transferItemOverhead = 8 + 8

// TransferItem is one key of a partition as a transfer carries it.
type TransferItem struct {
	Key []byte
	Set []byte // the encoded vclock.Set
	// TombSince is when the sender first held the key tombstone-only (its
	// reap state); zero when it holds a live value, and for hints.
	TombSince time.Time
}

// Size is what the item counts against a page's or a batch's bytes.
func (it TransferItem) Size() int { return len(it.Key) + len(it.Set) + transferItemOverhead }

// TransferPage is one page of a partition's stream.
type TransferPage struct {
	Items []TransferItem
	Next  []byte // the cursor after the page: pass it as after for the next page
	Done  bool   // nothing is left past Next
	// Fraction is how far through the partition's hash range Next lies,
	// in [0, 1]; 1 once the data keys are done. Keys hash uniformly, so
	// it estimates the share of the keys sent.
	Fraction float64
}

// TransferPage reads the page of partition p's stream after the cursor
// after (nil: from the start): at most maxKeys items and about maxBytes
// (at least one item; 0 means the leaf-key page defaults, and neither
// exceeds their maxima). It reads one Pebble snapshot and holds no lock
// once it returns.
func (s *Store) TransferPage(p int, after []byte, maxKeys, maxBytes int) (TransferPage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return TransferPage{}, ErrClosed
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	lo, hi := s.trees.hashRange(p)
	maxKeys, maxBytes = pageBounds(maxKeys, maxBytes)
	r := pageReader{maxKeys: maxKeys, maxBytes: maxBytes, lo: lo, hi: hi, page: TransferPage{Next: after}}
	full, err := r.readData(snap, after)
	for _, target := range s.hintTargets() {
		if full || err != nil {
			break
		}
		full, err = r.readHints(snap, target, after)
	}
	r.page.Done = !full && err == nil
	r.page.Fraction = r.fraction()
	return r.page, err
}

// hintTargets lists the targets this node holds hints for, by name.
func (s *Store) hintTargets() []string {
	var out []string
	for target := range s.hints.all() {
		out = append(out, target)
	}
	slices.Sort(out)
	return out
}

// pageReader fills one TransferPage.
type pageReader struct {
	maxKeys, maxBytes, bytes int
	lo, hi                   uint64
	page                     TransferPage
}

// rangeBounds are the Pebble bounds of the partition's data keys under
// prefix, after the cursor after when it falls inside them.
func (r *pageReader) rangeBounds(prefix, after []byte) (lower, upper []byte) {
	lower = append(bytes.Clone(prefix), dataKeyAt(r.lo, nil)...)
	upper = append(bytes.Clone(prefix), prefixEnd([]byte{prefixData})...)
	if r.hi < ^uint64(0) {
		upper = append(bytes.Clone(prefix), dataKeyAt(r.hi+1, nil)...)
	}
	if bytes.Compare(after, lower) >= 0 {
		lower = append(bytes.Clone(after), 0) // the first key after it
	}
	return lower, upper
}

// rangeIter iterates the partition's keys under prefix after the cursor;
// it is nil when there are none.
func (r *pageReader) rangeIter(snap pebble.Reader, prefix, after []byte) (it *pebble.Iterator, lower, upper []byte, err error) {
	lower, upper = r.rangeBounds(prefix, after)
	if bytes.Compare(lower, upper) >= 0 {
		return nil, nil, nil, nil
	}
	it, err = snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	return it, lower, upper, err
}

// readData appends the data keys after the cursor; it reports whether the
// page is full.
func (r *pageReader) readData(snap pebble.Reader, after []byte) (bool, error) {
	it, lower, upper, err := r.rangeIter(snap, nil, after)
	if it == nil || err != nil {
		return false, err
	}
	defer it.Close()
	tombUpper := prefixEnd([]byte{prefixTombstone})
	if r.hi < ^uint64(0) {
		tombUpper = tombstoneKey(upper)
	}
	tombs, err := snap.NewIter(&pebble.IterOptions{LowerBound: tombstoneKey(lower), UpperBound: tombUpper})
	if err != nil {
		return false, err
	}
	defer tombs.Close()
	tombs.First()
	for it.First(); it.Valid(); it.Next() {
		since := tombSince(tombs, it.Key())
		if !r.add(it.Key(), TransferItem{Key: it.Key()[9:], Set: it.Value(), TombSince: since}) {
			return true, it.Error()
		}
	}
	return false, it.Error()
}

// tombSince steps the tombstone index iterator up to dk and returns dk's
// reap state: when it became tombstone-only, zero when it is not.
func tombSince(tombs *pebble.Iterator, dk []byte) time.Time {
	for tombs.Valid() && bytes.Compare(tombs.Key()[1:], dk[1:]) < 0 {
		tombs.Next()
	}
	if !tombs.Valid() || !bytes.Equal(tombs.Key()[1:], dk[1:]) || len(tombs.Value()) != 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(tombs.Value())))
}

// readHints appends target's hints for the partition's keys after the
// cursor; it reports whether the page is full.
func (r *pageReader) readHints(snap pebble.Reader, target string, after []byte) (bool, error) {
	prefix := hintPrefix(target)
	it, _, _, err := r.rangeIter(snap, prefix, after)
	if it == nil || err != nil {
		return false, err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if len(it.Value()) < 8 || len(it.Key()) < len(prefix)+9 {
			continue // malformed: ScanHints skips it too
		}
		if !r.add(it.Key(), TransferItem{Key: hintUserKey(target, it.Key()), Set: it.Value()[8:]}) {
			return true, it.Error()
		}
	}
	return false, it.Error()
}

// add appends a copy of item, read under the Pebble key pk, unless the
// page is full; it reports whether it did.
func (r *pageReader) add(pk []byte, item TransferItem) bool {
	n := len(r.page.Items)
	if n == r.maxKeys || (n > 0 && r.bytes+item.Size() > r.maxBytes) {
		return false
	}
	item.Key, item.Set = bytes.Clone(item.Key), bytes.Clone(item.Set)
	r.page.Items = append(r.page.Items, item)
	r.page.Next = bytes.Clone(pk)
	r.bytes += item.Size()
	return true
}

// TransferFraction is how far through partition p's stream the cursor
// after lies, as TransferPage's Fraction says: a receiver's estimate of
// the share of the partition it holds.
func (s *Store) TransferFraction(p int, after []byte) float64 {
	lo, hi := s.trees.hashRange(p)
	r := pageReader{lo: lo, hi: hi, page: TransferPage{Next: after}}
	return r.fraction()
}

// fraction is how far through the hash range the page's cursor lies.
func (r *pageReader) fraction() float64 {
	next := r.page.Next
	switch {
	case r.page.Done || (len(next) > 0 && next[0] != prefixData):
		return 1
	case len(next) < 9:
		return 0
	}
	h := binary.BigEndian.Uint64(next[1:9])
	return float64(h-r.lo) / (float64(r.hi-r.lo) + 1)
}
