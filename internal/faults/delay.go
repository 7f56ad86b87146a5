package faults

import (
	"net"
	"sync"
	"time"
)

// Delay lines add latency without capping throughput: a write is copied
// into a bounded queue and returns at once, and the line's goroutine sends
// each chunk when it has waited the latency in force, so many writes are
// in flight together as on a long link. The latency is read when a chunk
// is due, so lowering it (to 0) releases what waits.
const (
	lineChunk = 16 << 10 // bytes per queued chunk
	lineSlots = 256      // chunks queued per line: 4 MiB, then writes block
)

// latency reports the added latency now and a channel closed when it changes.
type latency func() (time.Duration, <-chan struct{})

// waitDue waits until at plus the latency in force, or until stop closes
// (false).
func waitDue(at time.Time, lat latency, stop <-chan struct{}) bool {
	for {
		d, changed := lat()
		left := time.Until(at.Add(d))
		if left <= 0 {
			return true
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
			return true
		case <-changed:
			t.Stop()
		case <-stop:
			t.Stop()
			return false
		}
	}
}

type chunk struct {
	b  []byte
	at time.Time
}

// delayLine delays the writes to one connection. Its goroutine ends when
// the connection is closed and what it held went out, or at abort.
type delayLine struct {
	conn    net.Conn
	lat     latency
	queue   chan chunk
	closing chan struct{} // closed by closeAfterFlush
	stop    chan struct{} // closed by abort, or on a write error
	once    sync.Once     // closes stop
	mu      sync.Mutex
	closed  bool
	err     error // the first write error
}

func newDelayLine(c net.Conn, lat latency) *delayLine {
	l := &delayLine{conn: c, lat: lat, queue: make(chan chunk, lineSlots), closing: make(chan struct{}), stop: make(chan struct{})}
	go l.run()
	return l
}

// write queues a copy of b, blocking while the queue is full.
func (l *delayLine) write(b []byte) (int, error) {
	now := time.Now()
	for off := 0; off < len(b); off += lineChunk {
		c := chunk{b: append([]byte(nil), b[off:min(off+lineChunk, len(b))]...), at: now}
		if err := l.enqueue(c); err != nil {
			return off, err
		}
	}
	return len(b), nil
}

func (l *delayLine) enqueue(c chunk) error {
	l.mu.Lock()
	closed, err := l.closed, l.err
	l.mu.Unlock()
	switch {
	case err != nil:
		return err
	case closed:
		return net.ErrClosed
	}
	select {
	case l.queue <- c:
		return nil
	case <-l.stop:
		return l.failure()
	}
}

func (l *delayLine) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	return net.ErrClosed
}

func (l *delayLine) run() {
	for {
		select {
		case c := <-l.queue:
			if !l.send(c) {
				return
			}
		case <-l.closing:
			l.flush()
			return
		case <-l.stop:
			return
		}
	}
}

// send writes c when due; false when the line stopped.
func (l *delayLine) send(c chunk) bool {
	if !waitDue(c.at, l.lat, l.stop) {
		return false
	}
	if _, err := l.conn.Write(c.b); err != nil {
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
		l.abort()
		return false
	}
	return true
}

// flush sends what is queued, then closes the connection.
func (l *delayLine) flush() {
	defer l.conn.Close()
	for {
		select {
		case c := <-l.queue:
			if !l.send(c) {
				return
			}
		default:
			return
		}
	}
}

// closeAfterFlush refuses further writes and closes the connection once
// what is queued went out.
func (l *delayLine) closeAfterFlush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.closing)
	}
}

// abort drops what is queued and stops the line.
func (l *delayLine) abort() { l.once.Do(func() { close(l.stop) }) }
