// Package testwait is how ringkv's tests wait for a condition: poll it,
// more slowly as time passes, until it holds or a deadline passes. Tests
// never sleep to synchronise; they wait for what they need to see.
package testwait

import (
	"testing"
	"time"
)

// Until polls cond, every 10ms at first and at most every 200ms, until it
// holds, and fails t if it does not within the given time.
func Until(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	pause := 10 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(pause)
		pause = min(2*pause, 200*time.Millisecond)
	}
}
