package phi_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/gossip/phi"
)

// epoch is the fake clock's origin: tests move time by adding durations.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// feed sends a heartbeat at start and after each interval, and returns
// when the last one arrived.
func feed(d *phi.Detector, start time.Time, intervals []time.Duration) time.Time {
	now := start
	d.Heartbeat(now)
	for _, iv := range intervals {
		now = now.Add(iv)
		d.Heartbeat(now)
	}
	return now
}

func durations(min, max time.Duration) *rapid.Generator[time.Duration] {
	return rapid.Custom(func(t *rapid.T) time.Duration {
		return time.Duration(rapid.Int64Range(int64(min), int64(max)).Draw(t, "ns"))
	})
}

func configs() *rapid.Generator[phi.Config] {
	return rapid.Custom(func(t *rapid.T) phi.Config {
		return phi.Config{
			WindowSize:      rapid.IntRange(0, 200).Draw(t, "window"),
			MinStdDev:       durations(0, time.Second).Draw(t, "minStdDev"),
			AcceptablePause: durations(0, 5*time.Second).Draw(t, "pause"),
			FirstInterval:   durations(0, 5*time.Second).Draw(t, "first"),
		}
	})
}

func TestPhiIsFiniteNonNegativeAndGrowsWithSilence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := phi.New(configs().Draw(t, "config"))
		intervals := rapid.SliceOfN(durations(0, 10*time.Second), 0, 300).Draw(t, "intervals")
		last := feed(d, epoch, intervals)
		e1 := durations(0, 24*time.Hour).Draw(t, "e1")
		e2 := e1 + durations(0, 24*time.Hour).Draw(t, "more")
		p1, p2 := d.Phi(last.Add(e1)), d.Phi(last.Add(e2))
		for _, p := range []float64{p1, p2} {
			if math.IsNaN(p) || p < 0 || p > phi.MaxPhi {
				t.Fatalf("phi %v, want a number in [0, %v]", p, phi.MaxPhi)
			}
		}
		if p2 < p1 {
			t.Fatalf("phi fell with silence: %v after %v, %v after %v", p1, e1, p2, e2)
		}
	})
}

func TestPhiIsZeroBeforeTheFirstHeartbeat(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := phi.New(configs().Draw(t, "config"))
		if p := d.Phi(epoch.Add(durations(-time.Hour, time.Hour).Draw(t, "at"))); p != 0 {
			t.Fatalf("phi %v before any heartbeat, want 0", p)
		}
		d.Heartbeat(epoch)
		if p := d.Phi(epoch); p >= 1 {
			t.Fatalf("phi %v at the first heartbeat, want near 0", p)
		}
	})
}

// Once the window holds only real intervals, a heartbeat arriving one
// learned standard deviation late, whatever the intervals were, leaves phi
// under 1 (about a 16% tail): the jitter a peer has shown is not suspicious.
func TestPhiLowWithinLearnedJitter(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := configs().Draw(t, "config")
		cfg.WindowSize = rapid.IntRange(2, 200).Draw(t, "window")
		d := phi.New(cfg)
		n := rapid.IntRange(cfg.WindowSize, 2*cfg.WindowSize+10).Draw(t, "n")
		intervals := rapid.SliceOfN(durations(time.Millisecond, 10*time.Second), n, n).Draw(t, "intervals")
		last := feed(d, epoch, intervals)
		mean, sd := stats(intervals[n-cfg.WindowSize:])
		late := time.Duration(mean + sd)
		if p := d.Phi(last.Add(late)); p >= 1 {
			t.Fatalf("phi %v after %v (mean %v + sd %v), want < 1",
				p, late, time.Duration(mean), time.Duration(sd))
		}
	})
}

// The realistic case: 1 s heartbeats with ±200 ms of jitter, in any
// pattern, and the defaults: phi when each heartbeat arrives stays under 1.
func TestPhiLowUnderJitteryOneSecondHeartbeats(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := phi.New(phi.Config{})
		now := epoch
		d.Heartbeat(now)
		for i, iv := range rapid.SliceOfN(durations(800*time.Millisecond, 1200*time.Millisecond), 1, 300).Draw(t, "intervals") {
			now = now.Add(iv)
			if p := d.Phi(now); p >= 1 {
				t.Fatalf("heartbeat %d after %v: phi %v, want < 1", i+1, iv, p)
			}
			d.Heartbeat(now)
		}
	})
}

// A peer that heartbeat about once a second and then went silent is
// suspected (phi over 8) within 6 s, but not after 2.5 s.
func TestPhiCrossesThresholdAfterAStall(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := phi.New(phi.Config{})
		intervals := rapid.SliceOfN(durations(800*time.Millisecond, 1200*time.Millisecond), 0, 300).Draw(t, "intervals")
		last := feed(d, epoch, intervals)
		if p := d.Phi(last.Add(2500 * time.Millisecond)); p >= 8 {
			t.Fatalf("phi %v after a 2.5 s stall, want < 8", p)
		}
		if p := d.Phi(last.Add(6 * time.Second)); p <= 8 {
			t.Fatalf("phi %v after a 6 s stall, want > 8", p)
		}
	})
}

func TestResetForgetsEverything(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := configs().Draw(t, "config")
		used, fresh := phi.New(cfg), phi.New(cfg)
		before := rapid.SliceOfN(durations(0, 10*time.Second), 0, 300).Draw(t, "before")
		restart := feed(used, epoch, before).Add(durations(0, time.Minute).Draw(t, "gap"))
		used.Reset()
		if p := used.Phi(restart.Add(time.Hour)); p != 0 {
			t.Fatalf("phi %v after Reset, want 0", p)
		}
		after := rapid.SliceOfN(durations(0, 10*time.Second), 0, 300).Draw(t, "after")
		last := feed(used, restart, after)
		feed(fresh, restart, after)
		at := last.Add(durations(0, time.Minute).Draw(t, "at"))
		if a, b := used.Phi(at), fresh.Phi(at); a != b {
			t.Fatalf("phi %v after Reset, %v from a new detector", a, b)
		}
	})
}

// The detector agrees with a deliberately simple version of itself: keep
// every interval (after the two seeds), take the last WindowSize, and
// apply Akka's formula as Akka writes it.
func TestPhiMatchesAkkaFormula(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := configs().Draw(t, "config")
		d := phi.New(cfg)
		intervals := rapid.SliceOfN(durations(0, 10*time.Second), 0, 300).Draw(t, "intervals")
		last := feed(d, epoch, intervals)
		elapsed := durations(0, time.Minute).Draw(t, "elapsed")
		want := akka(cfg, intervals, elapsed)
		if want > 300 {
			// Past here Akka's e^-k is subnormal, then 0: its form loses
			// precision and then overflows, where the detector's does not.
			return
		}
		if got := d.Phi(last.Add(elapsed)); math.Abs(got-want) > 1e-9+1e-9*want {
			t.Fatalf("phi %v, Akka's formula %v", got, want)
		}
	})
}

func akka(cfg phi.Config, intervals []time.Duration, elapsed time.Duration) float64 {
	window := cfg.WindowSize
	if window == 0 {
		window = phi.DefaultWindowSize
	}
	first := cmpOr(cfg.FirstInterval, phi.DefaultFirstInterval)
	all := append([]time.Duration{first - first/4, first + first/4}, intervals...)
	if window == 1 {
		all = append([]time.Duration{first}, intervals...)
	}
	mean, sd := stats(all[max(0, len(all)-window):])
	mean += float64(cmpOr(cfg.AcceptablePause, phi.DefaultAcceptablePause))
	sd = max(sd, float64(cmpOr(cfg.MinStdDev, phi.DefaultMinStdDev)))
	y := (float64(elapsed) - mean) / sd
	e := math.Exp(-y * (1.5976 + 0.070566*y*y))
	if float64(elapsed) > mean {
		return -math.Log10(e / (1 + e))
	}
	return -math.Log10(1 - 1/(1+e))
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// stats returns the mean and population standard deviation, in ns.
func stats(xs []time.Duration) (mean, sd float64) {
	for _, x := range xs {
		mean += float64(x)
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (float64(x) - mean) * (float64(x) - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)))
}

func TestValidate(t *testing.T) {
	if err := (phi.Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	for name, c := range map[string]phi.Config{
		"window": {WindowSize: -1},
		"min sd": {MinStdDev: -1},
		"pause":  {AcceptablePause: -1},
		"first":  {FirstInterval: -1},
	} {
		if err := c.Validate(); !errors.Is(err, phi.ErrInvalidConfig) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidConfig", name, err)
		}
	}
}
