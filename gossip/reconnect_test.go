package gossip

import "testing"

// The reconnect backoff grows while attempts fail or change nothing, and
// resets when one revives a member or reaches a target that had failed.
func TestReconnectorBackoff(t *testing.T) {
	r := reconnector{failed: map[string]bool{}}
	steps := []struct {
		target       string
		ok, progress bool
		want         int
	}{
		{"x", false, false, 1}, // x is down
		{"s", true, false, 2},  // a live seed that knows nothing new
		{"x", false, false, 3},
		{"s", true, false, 4},
		{"x", true, false, 0}, // x answers again: the second exchange revives
		{"x", true, true, 0},
		{"x", true, false, 1}, // answers but stays silent
		{"x", true, false, 2},
	}
	for i, s := range steps {
		r.done(s.target, s.ok, s.progress)
		if r.attempt != s.want {
			t.Fatalf("step %d (%+v): attempt %d, want %d", i, s, r.attempt, s.want)
		}
	}
}
