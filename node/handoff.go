package node

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/ringkv/ringkv/internal/backoff"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/storage/hintwindow"
)

// handoff delivers hints to their targets once the failure detector finds
// them healthy again: paced by a rate limit and a bound on concurrent
// sends so a returning node is not flooded, retried with exponential
// backoff and full jitter, and deleted only after the target acknowledged
// durably. Hints past the window (counted from a hint's newest write) are
// dropped and counted; anti-entropy covers them later. A round reads hints
// a page at a time and waits (for the limiter, a send slot, a peer) with no
// iterator open and no store lock held; expiry reads only the hints it
// drops.
type handoff struct {
	store       *storage.Store
	send        func(ctx context.Context, target string, key, set []byte) error
	healthy     func(id string) bool
	log         *slog.Logger
	limiter     *rate.Limiter
	concurrency int
	window      time.Duration
	now         func() time.Time

	kick      chan struct{} // capacity 1
	backoff   map[string]retryState
	delivered atomic.Uint64
	dropped   atomic.Uint64
}

type retryState struct {
	attempts int
	next     time.Time
}

// Backoff bounds for a target whose deliveries fail.
const (
	handoffBackoffBase = 500 * time.Millisecond
	handoffBackoffMax  = 30 * time.Second
	handoffTick        = time.Second
)

// trigger asks for a delivery round soon (a target may have recovered).
func (h *handoff) trigger() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// run delivers until ctx ends: a round at every tick and whenever
// membership changes.
func (h *handoff) run(ctx context.Context) {
	t := time.NewTicker(handoffTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.kick:
		}
		h.round(ctx)
	}
}

// round visits every target holding hints that is healthy and not backing off.
func (h *handoff) round(ctx context.Context) {
	stats := h.store.HintStats()
	targets := make([]string, 0, len(stats))
	for t := range stats {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for _, target := range targets {
		if ctx.Err() != nil {
			return
		}
		if hintwindow.Expired(stats[target].Oldest, h.now(), h.window) {
			h.expire(target)
		}
		if !h.healthy(target) || h.now().Before(h.backoff[target].next) {
			continue
		}
		if h.deliver(ctx, target) {
			delete(h.backoff, target)
			continue
		}
		h.backOff(target)
	}
}

// backOff schedules the next attempt for target with full jitter.
func (h *handoff) backOff(target string) {
	st := h.backoff[target]
	st.next = h.now().Add(backoff.FullJitter(st.attempts, handoffBackoffBase, handoffBackoffMax, rand.Int64N))
	st.attempts++
	h.backoff[target] = st
	h.log.Debug("hint delivery failed; backing off", "target", target, "attempts", st.attempts, "until", st.next)
}

// deliver sends every hint held for target; it stops at the first failure
// and reports whether the pass completed. ScanHints hands it hints a page
// at a time with no iterator open and no store lock held, so its waits
// (the limiter, a send slot, the peer) hold up neither compactions nor
// Close.
func (h *handoff) deliver(ctx context.Context, target string) bool {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var failed atomic.Bool
	var wg sync.WaitGroup
	sem := make(chan struct{}, h.concurrency)
	err := h.store.ScanHints(target, func(hint storage.Hint) bool {
		if hintwindow.Expired(hint.Created, h.now(), h.window) {
			if ok, _ := h.store.DeleteHintIf(hint); ok {
				h.dropped.Add(1)
			}
			return true
		}
		if h.limiter.Wait(ctx) != nil {
			return false
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if !h.deliverOne(ctx, hint) {
				failed.Store(true)
				cancel()
			}
		})
		return !failed.Load()
	})
	wg.Wait()
	return err == nil && !failed.Load() && ctx.Err() == nil
}

// expire drops the hints for target that are past the window, even while
// the target is away, reading only those (storage.Store.ExpireHints).
func (h *handoff) expire(target string) {
	n, err := h.store.ExpireHints(target, h.now(), h.window)
	h.dropped.Add(uint64(n))
	if err != nil {
		h.log.Warn("expiring hints", "target", target, "err", err)
	}
}

func (h *handoff) deliverOne(ctx context.Context, hint storage.Hint) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.send(ctx, hint.Target, hint.Key, hint.Set()); err != nil {
		return false
	}
	if ok, err := h.store.DeleteHintIf(hint); err == nil && ok {
		h.delivered.Add(1)
	}
	return true
}
