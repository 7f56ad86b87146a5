package backoff_test

import (
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/backoff"
)

func TestBackoffDoublesUpToCeilingWithFullJitter(t *testing.T) {
	top := func(n int64) int64 { return n - 1 }
	bottom := func(int64) int64 { return 0 }
	base, ceiling := 100*time.Millisecond, time.Second
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		if got := backoff.FullJitter(attempt, base, ceiling, top); got != want {
			t.Errorf("attempt %d: most %v, want %v", attempt, got, want)
		}
		if got := backoff.FullJitter(attempt, base, ceiling, bottom); got != 0 {
			t.Errorf("attempt %d: least %v, want 0 (full jitter)", attempt, got)
		}
	}
	if got := backoff.FullJitter(1000, base, ceiling, top); got != ceiling {
		t.Errorf("attempt 1000: %v, want the ceiling (no overflow)", got)
	}
	if got := backoff.FullJitter(3, 0, ceiling, top); got != 0 {
		t.Errorf("zero base: %v", got)
	}
}
