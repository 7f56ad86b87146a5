// Package backoff computes retry delays: exponential backoff with full
// jitter, as every retry loop in ringkv uses (joining seeds, delivering
// hints). Pure: the caller supplies the randomness and owns the waiting.
package backoff

import "time"

// FullJitter returns the wait before retry attempt (0 for the first):
// uniform in [0, min(ceiling, base·2^attempt)]. Full jitter spreads out
// callers that all started retrying at once. rnd(n) returns a uniform value
// in [0, n), e.g. rand.Int64N.
func FullJitter(attempt int, base, ceiling time.Duration, rnd func(n int64) int64) time.Duration {
	limit := base
	for i := 0; i < attempt && limit < ceiling; i++ {
		limit *= 2
	}
	limit = min(limit, ceiling)
	if limit <= 0 {
		return 0
	}
	return time.Duration(rnd(int64(limit) + 1))
}
