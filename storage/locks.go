package storage

import (
	"slices"
	"sync"

	"github.com/cespare/xxhash/v2"
)

// keyLocks serialises read-modify-writes of one key without a map: keys
// hash onto a fixed array of stripes, so memory is bounded and two keys
// rarely share a stripe. Each stripe also caches the encoded version sets
// of a few data keys (see stripe).
type keyLocks struct {
	stripes [1024]stripe
}

// Bounds of the version-set cache: at most 16 MiB and 16,384 keys over all
// stripes; a bigger set is not cached.
const (
	maxStripeSets  = 16
	maxStripeBytes = 16 << 10
	maxCachedSet   = 4 << 10
)

// stripe is one lock and the cache it guards. Every change to a data key
// happens under its stripe's lock and updates or drops the key's cache
// entry before the lock is released, and a reader that misses fills the
// entry only while it holds the lock across its read of Pebble: so an
// entry is always the version set last applied to Pebble. It spares a
// replica's read-modify-write, and reads of hot keys, a lookup in Pebble's
// memtable, which had grown to an eighth of a node's CPU.
type stripe struct {
	sync.Mutex
	sets  map[string][]byte // data key → encoded set, capacity capped at its length
	bytes int
}

func (l *keyLocks) stripe(key []byte) *stripe {
	return &l.stripes[xxhash.Sum64(key)%uint64(len(l.stripes))]
}

// lock locks key's stripe and returns it, for the caller to Unlock.
func (l *keyLocks) lock(key []byte) *stripe {
	st := l.stripe(key)
	st.Lock()
	return st
}

// cached returns dk's set if the stripe holds it. The caller holds the
// lock and must not modify the returned bytes.
func (st *stripe) cached(dk []byte) ([]byte, bool) {
	raw, ok := st.sets[string(dk)]
	return raw, ok
}

// remember caches raw as dk's set, evicting an arbitrary entry when the
// stripe is full. The caller holds the lock and gives raw up.
func (st *stripe) remember(dk, raw []byte) {
	st.forget(dk)
	if len(raw) > maxCachedSet {
		return
	}
	if st.sets == nil {
		st.sets = make(map[string][]byte, maxStripeSets)
	}
	for k, v := range st.sets {
		if len(st.sets) < maxStripeSets && st.bytes+len(dk)+len(raw) <= maxStripeBytes {
			break
		}
		delete(st.sets, k)
		st.bytes -= len(k) + len(v)
	}
	st.sets[string(dk)] = raw[:len(raw):len(raw)]
	st.bytes += len(dk) + len(raw)
}

// forget drops dk's entry. The caller holds the lock.
func (st *stripe) forget(dk []byte) {
	if raw, ok := st.sets[string(dk)]; ok {
		delete(st.sets, string(dk))
		st.bytes -= len(dk) + len(raw)
	}
}

// lockAll locks the stripes of keys, each once and in index order, so two
// callers that lock several never deadlock (every other caller holds one
// stripe at a time); the caller unlocks them with unlockAll.
func (l *keyLocks) lockAll(keys [][]byte) []*stripe {
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, int(xxhash.Sum64(k)%uint64(len(l.stripes))))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	out := make([]*stripe, len(idx))
	for i, j := range idx {
		out[i] = &l.stripes[j]
		out[i].Lock()
	}
	return out
}

func unlockAll(stripes []*stripe) {
	for _, st := range stripes {
		st.Unlock()
	}
}
