package bench_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memDriver is an in-memory store whose tokens are per-key versions. It
// checks what the bench package promises drivers: read-modify-writes carry
// the token their read returned, updates and inserts carry none.
type memDriver struct {
	mu       sync.Mutex
	data     map[string][]byte
	version  map[string]int
	failPuts error // returned by every Put when set

	puts, tokenPuts, staleTokens atomic.Int64
}

func newMemDriver() *memDriver {
	return &memDriver{data: map[string][]byte{}, version: map[string]int{}}
}

func (m *memDriver) Get(_ context.Context, key []byte) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.data[string(key)]
	return []byte(strconv.Itoa(m.version[string(key)])), ok, nil
}

func (m *memDriver) Put(_ context.Context, key, value, token []byte) error {
	m.puts.Add(1)
	if m.failPuts != nil {
		return m.failPuts
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if token != nil {
		m.tokenPuts.Add(1)
		if string(token) != strconv.Itoa(m.version[string(key)]) {
			m.staleTokens.Add(1)
		}
	}
	m.data[string(key)] = append([]byte(nil), value...)
	m.version[string(key)]++
	return nil
}

func (m *memDriver) Close() error { return nil }

func (m *memDriver) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.data)
}

// gateDriver blocks every call until the test releases it, announcing each
// call on called.
type gateDriver struct {
	called, release chan struct{}
}

func newGateDriver() *gateDriver {
	return &gateDriver{called: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateDriver) wait(ctx context.Context) error {
	select {
	case g.called <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gateDriver) Get(ctx context.Context, _ []byte) ([]byte, bool, error) {
	return nil, true, g.wait(ctx)
}
func (g *gateDriver) Put(ctx context.Context, _, _, _ []byte) error { return g.wait(ctx) }
func (g *gateDriver) Close() error                                  { return nil }

// stuckDriver never answers before the request's deadline.
type stuckDriver struct{ calls atomic.Int64 }

func (s *stuckDriver) Get(ctx context.Context, _ []byte) ([]byte, bool, error) {
	s.calls.Add(1)
	<-ctx.Done()
	return nil, false, ctx.Err()
}
func (s *stuckDriver) Put(ctx context.Context, _, _, _ []byte) error {
	_, _, err := s.Get(ctx, nil)
	return err
}
func (s *stuckDriver) Close() error { return nil }

var errRefused = errors.New("refused by the fake")

// fakeClock moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	fired   []chan time.Time
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires every timer that came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
		c.fired = append(c.fired, w.ch)
	}
	c.waiters = kept
}

// waitForReceived waits (bounded) until every fired timer has been read.
func (c *fakeClock) waitForReceived(t *testing.T) {
	t.Helper()
	for range 5000 {
		c.mu.Lock()
		pending := 0
		for _, ch := range c.fired {
			pending += len(ch)
		}
		c.mu.Unlock()
		if pending == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("fired timers never read")
}

// waitForTimers waits (bounded) until n timers are pending.
func (c *fakeClock) waitForTimers(t *testing.T, n int) {
	t.Helper()
	for range 5000 {
		c.mu.Lock()
		got := len(c.waiters)
		c.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never %d pending timers", n)
}
