package phi

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The window never holds more than WindowSize intervals, its backing array
// is allocated once, and a heartbeat allocates nothing.
func TestWindowIsBounded(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.IntRange(1, 300).Draw(t, "window")
		d := New(Config{WindowSize: size})
		n := rapid.IntRange(0, 1000).Draw(t, "heartbeats")
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for range n {
			now = now.Add(time.Second)
			d.Heartbeat(now)
		}
		seeds := min(2, size)
		want := min(seeds+max(n-1, 0), size)
		if len(d.window) != want || cap(d.window) != size {
			t.Fatalf("after %d heartbeats: %d samples in capacity %d, want %d in %d",
				n, len(d.window), cap(d.window), want, size)
		}
	})
	d := New(Config{})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Second)
		d.Heartbeat(now)
		d.Phi(now)
	}); allocs != 0 {
		t.Errorf("Heartbeat and Phi allocate %v times per call, want 0", allocs)
	}
}
