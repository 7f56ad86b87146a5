package quorum

import (
	"sync"
	"sync/atomic"
)

// maxIdleWorkers bounds the goroutines a pool keeps waiting for work.
const maxIdleWorkers = 256

// pool runs replica calls on goroutines it keeps after use, so their
// stacks, grown once by the deep calls into storage and the transport,
// serve the next call instead of being grown afresh for every one
// (runtime.copystack had been about 5% of a node's CPU). A call never
// waits for a worker: with none idle, a new one starts.
type pool struct {
	work    chan func() // unbuffered: a send succeeds only to an idle worker
	idle    atomic.Int32
	mu      sync.Mutex    // guards quit and serialises drain with new workers
	quit    chan struct{} // closed by drain
	workers sync.WaitGroup
	started atomic.Int64 // workers ever started
}

func newPool() *pool {
	return &pool{work: make(chan func()), quit: make(chan struct{})}
}

// run runs f on an idle worker, or on a new one.
func (p *pool) run(f func()) {
	select {
	case p.work <- f:
		return
	default:
	}
	p.mu.Lock()
	quit := p.quit
	p.workers.Add(1)
	p.mu.Unlock()
	p.started.Add(1)
	go p.loop(f, quit)
}

func (p *pool) loop(f func(), quit <-chan struct{}) {
	defer p.workers.Done()
	for {
		f()
		if p.idle.Add(1) > maxIdleWorkers {
			p.idle.Add(-1)
			return
		}
		select {
		case f = <-p.work:
			p.idle.Add(-1)
		case <-quit:
			p.idle.Add(-1)
			return
		}
	}
}

// drain ends the idle workers and waits for every worker to end; the
// caller makes sure no call is running. The pool stays usable.
func (p *pool) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.quit)
	p.workers.Wait()
	p.quit = make(chan struct{})
}
