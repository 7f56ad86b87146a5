package gossip

import "time"

// backoff returns the wait before retry attempt (0 for the first):
// exponential backoff with full jitter, uniform in [0, min(ceiling,
// base·2^attempt)]. Full jitter spreads out nodes that all started waiting
// for the same seed at once. rnd(n) returns a uniform value in [0, n).
func backoff(attempt int, base, ceiling time.Duration, rnd func(n int64) int64) time.Duration {
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
