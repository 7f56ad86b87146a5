package phi_test

import (
	"testing"
	"time"

	"github.com/ringkv/ringkv/gossip/phi"
)

// timeToSuspect returns how long after the last heartbeat phi first
// exceeds threshold, to the millisecond.
func timeToSuspect(d *phi.Detector, last time.Time, threshold float64) time.Duration {
	lo, hi := time.Duration(0), time.Hour // phi(lo) <= threshold < phi(hi)
	for hi-lo > time.Millisecond {
		mid := lo + (hi-lo)/2
		if d.Phi(last.Add(mid)) > threshold {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi.Round(time.Millisecond)
}

// jitter returns n intervals alternating between every-δ and every+δ.
func jitter(n int, every, δ time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = every + δ - 2*δ*time.Duration(i%2)
	}
	return out
}

// TestTimeToSuspect prints, for 1 s heartbeats and threshold 8, how long a
// silence it takes to suspect a peer under a few configurations, and pins
// the defaults' figure quoted in config.go.
func TestTimeToSuspect(t *testing.T) {
	const threshold = 8
	for _, tc := range []struct {
		name      string
		cfg       phi.Config
		intervals []time.Duration
	}{
		{"defaults, just joined (seed window)", phi.Config{}, nil},
		{"defaults, regular 1 s", phi.Config{}, jitter(200, time.Second, 0)},
		{"defaults, 1 s ± 200 ms", phi.Config{}, jitter(200, time.Second, 200*time.Millisecond)},
		{"defaults, 1 s ± 500 ms", phi.Config{}, jitter(200, time.Second, 500*time.Millisecond)},
		{"Akka's defaults (pause 3 s, min sd 100 ms)", phi.Config{AcceptablePause: 3 * time.Second,
			MinStdDev: 100 * time.Millisecond, WindowSize: 1000}, jitter(200, time.Second, 0)},
		{"no pause, min sd 500 ms", phi.Config{AcceptablePause: time.Nanosecond,
			MinStdDev: 500 * time.Millisecond}, jitter(200, time.Second, 0)},
	} {
		d := phi.New(tc.cfg)
		last := feed(d, epoch, tc.intervals)
		tts := timeToSuspect(d, last, threshold)
		t.Logf("%-45s time to suspect %v", tc.name, tts)
		if tc.name == "defaults, regular 1 s" && (tts != 4045*time.Millisecond) {
			t.Errorf("defaults: time to suspect %v, want the 4.05 s config.go states", tts)
		}
	}
}
