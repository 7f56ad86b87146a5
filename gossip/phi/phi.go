package phi

import (
	"math"
	"time"
)

// Detector tracks one peer's heartbeats. It is not safe for concurrent
// use: the caller locks.
type Detector struct {
	cfg Config // defaults applied

	window []time.Duration // inter-arrival intervals, a ring once full
	next   int             // the slot the next interval overwrites once full

	heard bool      // a heartbeat arrived since New or Reset
	last  time.Time // when the latest heartbeat arrived

	// Statistics of window, in nanoseconds, kept current by Heartbeat so
	// that Phi is O(1).
	mean, stdDev float64
}

// New returns a Detector that has heard nothing yet. It panics if cfg is
// invalid; check Config.Validate first.
func New(cfg Config) *Detector {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	d := &Detector{cfg: cfg, window: make([]time.Duration, 0, cfg.WindowSize)}
	d.Reset()
	return d
}

// Reset forgets every heartbeat, as for a peer that restarted: Phi is 0
// until the next one, and the window holds only the FirstInterval seed.
func (d *Detector) Reset() {
	d.heard, d.last = false, time.Time{}
	d.window, d.next = d.window[:0], 0
	first := d.cfg.FirstInterval
	if d.cfg.WindowSize == 1 {
		d.record(first)
	} else {
		d.record(first - first/4)
		d.record(first + first/4)
	}
	d.update()
}

// Heartbeat records a heartbeat arriving at now. The first one after New
// or Reset only starts the clock; each later one adds the interval since
// the previous one to the window. A heartbeat stamped before the latest
// one (possible only with a clock that goes backwards) is ignored.
func (d *Detector) Heartbeat(now time.Time) {
	if !d.heard {
		d.heard, d.last = true, now
		return
	}
	if now.Before(d.last) {
		return
	}
	d.record(now.Sub(d.last))
	d.last = now
	d.update()
}

// Phi returns the suspicion level at now: 0 before the first heartbeat,
// otherwise −log10 of the probability that a heartbeat is still to come
// after this much silence (see the package comment), capped at MaxPhi.
func (d *Detector) Phi(now time.Time) float64 {
	if !d.heard {
		return 0
	}
	elapsed := float64(now.Sub(d.last))
	mean := d.mean + float64(d.cfg.AcceptablePause)
	stdDev := max(d.stdDev, float64(d.cfg.MinStdDev))
	return phi((elapsed - mean) / stdDev)
}

// phi is −log10(1 − F(y)) for the logistic approximation F of the normal
// CDF: ln(1 + e^k)/ln 10, written so that e^k never overflows. Each step
// is monotone in y, so phi is too.
func phi(y float64) float64 {
	k := y * (1.5976 + 0.070566*y*y)
	var softplus float64 // ln(1 + e^k)
	if k > 0 {
		softplus = k + math.Log1p(math.Exp(-k))
	} else {
		softplus = math.Log1p(math.Exp(k))
	}
	return min(softplus/math.Ln10, MaxPhi)
}

// record adds an interval, overwriting the oldest once the window is full.
func (d *Detector) record(interval time.Duration) {
	if len(d.window) < d.cfg.WindowSize {
		d.window = append(d.window, interval)
		return
	}
	d.window[d.next] = interval
	d.next = (d.next + 1) % len(d.window)
}

// update recomputes mean and population standard deviation from scratch
// (two passes over at most WindowSize samples, once per heartbeat), so no
// rounding error accumulates over a long-lived peer.
func (d *Detector) update() {
	var sum float64
	for _, x := range d.window {
		sum += float64(x)
	}
	n := float64(len(d.window))
	d.mean = sum / n
	var squares float64
	for _, x := range d.window {
		dev := float64(x) - d.mean
		squares += dev * dev
	}
	d.stdDev = math.Sqrt(squares / n)
}
