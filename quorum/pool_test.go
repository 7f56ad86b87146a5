package quorum

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/testwait"
)

// waitIdle waits until n workers are idle.
func waitIdle(t *testing.T, p *pool, n int32) {
	t.Helper()
	testwait.Until(t, 10*time.Second, "idle workers", func() bool { return p.idle.Load() == n })
}

// Calls one after another reuse workers; calls at once get a worker each,
// never wait; drain ends them all and the pool works on after it.
func TestPoolReusesWorkersAndDrains(t *testing.T) {
	p := newPool()
	var ran atomic.Int32
	for range 50 {
		done := make(chan struct{})
		p.run(func() { ran.Add(1); close(done) })
		<-done
		// A worker counts itself idle just before it waits for work, so
		// a call made in between starts another: a few, not one each.
		waitIdle(t, p, int32(p.started.Load()))
	}
	if ran.Load() != 50 || p.started.Load() > 25 {
		t.Fatalf("ran %d calls on %d workers; want 50 on a few", ran.Load(), p.started.Load())
	}
	p.drain()

	// 20 calls that each wait for all 20 to have started: none can wait
	// for another's worker.
	var started, all sync.WaitGroup
	started.Add(20)
	all.Add(20)
	for range 20 {
		p.run(func() {
			started.Done()
			started.Wait()
			all.Done()
		})
	}
	all.Wait()
	waitIdle(t, p, 20) // the pool was empty: exactly one worker each
	p.drain()
	if p.idle.Load() != 0 {
		t.Fatalf("%d idle after drain", p.idle.Load())
	}
	p.run(func() { ran.Add(1) })
	waitIdle(t, p, 1)
	if ran.Load() != 51 {
		t.Fatal("the pool did not run a call after drain")
	}
	p.drain()
}

// At most maxIdleWorkers wait for work; the rest end.
func TestPoolKeepsAtMostMaxIdleWorkers(t *testing.T) {
	p := newPool()
	defer p.drain()
	n := maxIdleWorkers + 50
	var started, all sync.WaitGroup
	started.Add(n)
	all.Add(n)
	for range n {
		p.run(func() {
			started.Done()
			started.Wait()
			all.Done()
		})
	}
	all.Wait()
	waitIdle(t, p, maxIdleWorkers)
}
