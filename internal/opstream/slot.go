package opstream

import (
	"math/rand/v2"
	"time"

	"github.com/ringkv/ringkv/internal/backoff"
)

// Backoff between reopening a failed stream.
const (
	reopenBase    = 50 * time.Millisecond
	reopenCeiling = 2 * time.Second
)

// Slot keeps the stream to one peer: it reopens a failed stream after a
// backoff with full jitter, growing while new streams fail before
// answering anything, and meanwhile refuses operations at once with the
// last failure. A Slot is not safe for concurrent use: its owner locks.
type Slot[B, Op, Rs, Res any] struct {
	c        *Client[B, Op, Rs, Res]
	failures int       // streams in a row that failed before answering
	retryAt  time.Time // no new stream before this
	counted  bool      // c's failure has set retryAt
}

// Get returns the open stream, or one that open starts now.
func (s *Slot[B, Op, Rs, Res]) Get(now time.Time, open func() (*Client[B, Op, Rs, Res], error)) (*Client[B, Op, Rs, Res], error) {
	if s.c != nil {
		endedAt, err := s.c.Failure()
		if err == nil {
			return s.c, nil
		}
		if !s.counted {
			if s.c.answeredAny.Load() {
				s.failures = 0
			}
			s.retryAt = endedAt.Add(backoff.FullJitter(s.failures, reopenBase, reopenCeiling, rand.Int64N))
			s.failures++
			s.counted = true
		}
		if now.Before(s.retryAt) {
			return nil, err
		}
	}
	c, err := open()
	if err != nil {
		return nil, err
	}
	s.c, s.counted = c, false
	return c, nil
}
