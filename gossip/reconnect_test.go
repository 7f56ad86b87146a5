package gossip

import "testing"

func TestNextAttempt(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		attempt                    int
		ok, failedBefore, progress bool
		want                       int
	}{
		{"failure backs off", 3, false, false, false, 4},
		{"failure after failure backs off", 3, false, true, true, 4},
		{"first success after failures resets", 5, true, true, false, 0},
		{"success that revived someone resets", 5, true, false, true, 0},
		{"success without progress backs off", 2, true, false, false, 3},
	} {
		if got := nextAttempt(tc.attempt, tc.ok, tc.failedBefore, tc.progress); got != tc.want {
			t.Errorf("%s: nextAttempt(%d, ok=%v, failedBefore=%v, progress=%v) = %d, want %d",
				tc.name, tc.attempt, tc.ok, tc.failedBefore, tc.progress, got, tc.want)
		}
	}
}
