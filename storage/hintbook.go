package storage

import (
	"sync"
	"sync/atomic"
	"time"
)

// hintBook keeps per-target hint totals in memory so status and budgets
// never scan the disk. The Store keeps it in step with every hint write
// and delete.
type hintBook struct {
	mu      sync.Mutex
	targets map[string]*HintStats
	// keysRead counts the hint keys the store's hint scans have stepped
	// over, so tests can show what a round of expiry costs.
	keysRead atomic.Uint64 // see Store.HintKeysRead
}

// reserve accounts for grow more bytes (and one more hint if isNew) for
// target, unless that would take it over budget (0: no budget).
func (b *hintBook) reserve(target string, grow int64, isNew bool, created time.Time, budget int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.targets == nil {
		b.targets = map[string]*HintStats{}
	}
	st := b.targets[target]
	if st == nil {
		st = &HintStats{}
		b.targets[target] = st
	}
	if budget > 0 && grow > 0 && st.Bytes+grow > budget {
		return false
	}
	st.Bytes += grow
	if isNew {
		st.Count++
	}
	if st.Oldest.IsZero() || created.Before(st.Oldest) {
		st.Oldest = created
	}
	return true
}

// release undoes reserve, or accounts for a deleted hint.
func (b *hintBook) release(target string, size int64, wasNew bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.targets[target]
	if st == nil {
		return
	}
	st.Bytes -= size
	if wasNew {
		st.Count--
	}
	if st.Count <= 0 {
		delete(b.targets, target)
	}
}

func (b *hintBook) stats(target string) HintStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st := b.targets[target]; st != nil {
		return *st
	}
	return HintStats{}
}

func (b *hintBook) all() map[string]HintStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]HintStats, len(b.targets))
	for t, st := range b.targets {
		out[t] = *st
	}
	return out
}

// setOldest records the creation time of the oldest hint left for target,
// read from the index after expiry; reserve only ever moves it earlier, so
// between expiries it may be older than the oldest hint left (after a
// delivery, or a merge that made a hint younger), which costs at most one
// needless expiry of one index read.
func (b *hintBook) setOldest(target string, oldest time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st := b.targets[target]; st != nil && !oldest.IsZero() {
		st.Oldest = oldest
	}
}
