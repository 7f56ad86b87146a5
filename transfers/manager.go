package transfers

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/ringkv/ringkv/internal/backoff"
	"github.com/ringkv/ringkv/storage"
)

// Manager streams this node's partitions to pending owners: each transfer
// in its own goroutine, at most Concurrency streaming at once, all paced by
// one byte rate limiter, each resuming from its receiver's cursor.
type Manager struct {
	cfg   Config
	store *storage.Store
	lim   *rate.Limiter
	slots chan struct{} // a token per streaming transfer
	sent  atomic.Int64  // bytes sent by every transfer, resends included

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	jobs   map[ID]*job
	closed bool
}

// New returns a Manager over store (the donor's). It starts nothing until
// Start.
func New(cfg Config, store *storage.Store) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{cfg: cfg, store: store, ctx: ctx, cancel: cancel,
		lim:   rate.NewLimiter(rate.Limit(cfg.Rate), burst(cfg)),
		slots: make(chan struct{}, cfg.Concurrency), jobs: map[ID]*job{}}, nil
}

// burst lets one batch through at once: a transfer never sends ahead of
// the rate by more than that (pace splits a bigger batch).
func burst(cfg Config) int { return cfg.BatchBytes }

// Start begins streaming id to peer, from wherever the receiver's copy
// stands. Starting a running transfer does nothing.
func (m *Manager) Start(id ID, peer Peer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return ErrClosed
	case m.jobs[id] != nil:
		return nil
	case len(m.jobs) >= m.cfg.MaxJobs:
		return ErrTooManyJobs
	}
	ctx, cancel := context.WithCancel(m.ctx)
	j := &job{id: id, peer: peer, cancel: cancel, started: m.cfg.Now(), state: Waiting}
	m.jobs[id] = j
	m.wg.Go(func() { m.run(ctx, j) })
	return nil
}

// Cancel stops id's transfer, if running; the receiver keeps its cursor,
// so a later Start resumes (at once: the stopping one is forgotten now,
// and the receiver's cursor check makes its last call harmless).
func (m *Manager) Cancel(id ID) {
	m.mu.Lock()
	j := m.jobs[id]
	delete(m.jobs, id)
	m.mu.Unlock()
	if j != nil {
		j.cancel()
	}
}

// BytesSent counts the bytes of every batch this Manager sent, resends and
// failed calls included.
func (m *Manager) BytesSent() int64 { return m.sent.Load() }

// Close stops every transfer and waits for their goroutines. Idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}

// run drives j until it finishes or its context ends, then forgets it.
func (m *Manager) run(ctx context.Context, j *job) {
	defer j.cancel()
	done := m.attempts(ctx, j)
	m.mu.Lock()
	if m.jobs[j.id] == j {
		delete(m.jobs, j.id)
	}
	m.mu.Unlock()
	if done && m.cfg.OnDone != nil {
		m.cfg.OnDone(j.id)
	}
}

// attempts streams j, backing off between failed attempts (from the
// shortest again after an attempt that moved the cursor); it reports
// whether the receiver has the whole stream.
func (m *Manager) attempts(ctx context.Context, j *job) bool {
	for attempt := 0; ; attempt++ {
		before := j.appliedBytes()
		err := m.withSlot(ctx, func() error { return m.stream(ctx, j) })
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if j.appliedBytes() > before {
			attempt = 0
		}
		j.failed(err)
		m.cfg.Logger.Warn("transfer attempt failed", "transfer", j.id.String(), "attempt", attempt, "err", err)
		if !sleep(ctx, m.backoff(attempt)) {
			return false
		}
	}
}

// withSlot runs f holding one of the Concurrency slots.
func (m *Manager) withSlot(ctx context.Context, f func() error) error {
	select {
	case m.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-m.slots }()
	return f()
}

func (m *Manager) backoff(attempt int) time.Duration {
	return backoff.FullJitter(attempt, m.cfg.RetryBase, m.cfg.RetryMax, rand.Int64N)
}

// sleep waits d unless ctx ends first; it reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
