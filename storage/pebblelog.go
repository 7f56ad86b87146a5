package storage

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Pebble retries a failed flush at once and logs each failure: on a full
// disk that was millions of identical lines a minute. Each kind of error
// (Pebble's format string) is logged logBurst times, then at most once per
// logInterval with the count of lines suppressed since.
const (
	logBurst    = 5
	logInterval = 10 * time.Second
	// logKinds bounds the kinds tracked; further kinds share one budget.
	logKinds = 256
)

// pebbleLogger routes Pebble's logging to slog. Fatalf must not return: a
// failed WAL sync goes through it, and returning would let the write look
// successful.
type pebbleLogger struct {
	l   *slog.Logger
	now func() time.Time

	errors     atomic.Uint64 // Errorf calls, logged or not
	suppressed atomic.Uint64 // Errorf lines not logged

	mu    sync.Mutex
	kinds map[string]*logKind
}

// logKind is the log budget of one kind of error.
type logKind struct {
	logged     int       // lines logged in the current burst
	last       time.Time // when the last line was logged
	suppressed uint64    // lines not logged since the last one
}

// StorageErrors counts the errors Pebble reported, background ones
// included, logged or not.
func (s *Store) StorageErrors() uint64 { return s.plog.errors.Load() }

// LogSuppressed counts Pebble's error lines the rate limit kept out of the
// log.
func (s *Store) LogSuppressed() uint64 { return s.plog.suppressed.Load() }

func newPebbleLogger(l *slog.Logger, now func() time.Time) *pebbleLogger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &pebbleLogger{l: l, now: now, kinds: map[string]*logKind{}}
}

func (p *pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p *pebbleLogger) Errorf(format string, args ...any) {
	p.errors.Add(1)
	ok, suppressed := p.allow(format)
	if !ok {
		p.suppressed.Add(1)
		return
	}
	attrs := []any{"component", "pebble"}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	p.l.Error(fmt.Sprintf(format, args...), attrs...)
}

func (p *pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Log(context.Background(), slog.LevelError+4, msg, "component", "pebble")
	panic("pebble: " + msg)
}

// allow says whether a line of this kind may be logged now, and how many
// were suppressed before it.
func (p *pebbleLogger) allow(kind string) (bool, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.kinds[kind]
	if k == nil {
		if len(p.kinds) >= logKinds {
			kind = ""
		}
		if k = p.kinds[kind]; k == nil {
			k = &logKind{}
			p.kinds[kind] = k
		}
	}
	now := p.now()
	if k.logged >= logBurst && now.Sub(k.last) < logInterval {
		k.suppressed++
		return false, 0
	}
	k.logged = min(k.logged+1, logBurst)
	k.last = now
	n := k.suppressed
	k.suppressed = 0
	return true, n
}
