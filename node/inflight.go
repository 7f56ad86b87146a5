package node

import (
	"net/http"
	"sync"
)

// inflight counts the HTTP handlers running. A shutdown whose deadline
// passed closes the server without waiting for its handlers, and they may
// still start replica calls; the coordinator's calls are waited for only
// after every handler has returned.
type inflight struct {
	mu      sync.Mutex
	idle    *sync.Cond
	running int
	closed  bool
}

func newInflight() *inflight {
	f := &inflight{}
	f.idle = sync.NewCond(&f.mu)
	return f
}

// wrap counts h's calls; once closed, it refuses new ones.
func (f *inflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.enter() {
			http.Error(w, "node is shutting down", http.StatusServiceUnavailable)
			return
		}
		defer f.leave()
		h.ServeHTTP(w, r)
	})
}

func (f *inflight) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.running++
	return true
}

func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running--; f.running == 0 {
		f.idle.Broadcast()
	}
}

// closeAndWait refuses new calls and waits for the running ones.
func (f *inflight) closeAndWait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for f.running > 0 {
		f.idle.Wait()
	}
}
