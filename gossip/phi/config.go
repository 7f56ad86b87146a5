package phi

import (
	"errors"
	"fmt"
	"time"
)

// Defaults for the zero values of Config, chosen for heartbeats about once
// a second, a suspicion threshold of 8, and a busy 2-core host.
//
// For a perfectly regular 1 s stream the window's σ is 0, so σ' is
// MinStdDev and phi reaches 8 at y ≈ 5.226 (see the package comment):
//
//	time to suspect = 1 s + AcceptablePause + 5.226·MinStdDev
//	                = 1 s + 2 s + 1.045 s ≈ 4.05 s after the last heartbeat
//
// so a killed node is suspected 4–5 s after it dies (its last heartbeat
// went out up to one interval earlier), well before SWIM's 4–24 s, while
// a 2 s stall (a lost heartbeat, a long GC or scheduler hiccup) leaves phi
// near 0 and even 3 s of silence only reaches phi 0.3. A peer whose
// learned jitter exceeds MinStdDev gets proportionally more slack.
const (
	// DefaultWindowSize keeps about 100 s of history at 1 s heartbeats:
	// long enough to learn a peer's jitter, short enough to follow a change.
	DefaultWindowSize = 100
	// DefaultMinStdDev keeps a very regular stream (loopback, idle hosts)
	// from making phi a step function that one late heartbeat would flip.
	DefaultMinStdDev = 200 * time.Millisecond
	// DefaultAcceptablePause is how much silence beyond the usual interval
	// is not suspicious at all: GC pauses, a descheduled process, one or
	// two lost UDP packets.
	DefaultAcceptablePause = 2 * time.Second
	// DefaultFirstInterval is the interval assumed before any is measured.
	DefaultFirstInterval = time.Second
)

// MaxPhi caps Phi. Past it the numbers mean nothing more ("long gone"), and
// the cap keeps Phi printable and safe to compare.
const MaxPhi = 1000.0

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("phi: invalid config")

// Config tunes a Detector. The zero value is valid and means the defaults.
type Config struct {
	// WindowSize is how many inter-arrival intervals are kept; 0 means
	// DefaultWindowSize. A larger window adapts more slowly but is less
	// moved by one odd interval; memory is 8 bytes per sample per peer.
	WindowSize int
	// MinStdDev floors the standard deviation; 0 means DefaultMinStdDev.
	// Larger values make phi rise more gradually and later.
	MinStdDev time.Duration
	// AcceptablePause is added to the mean interval; 0 means
	// DefaultAcceptablePause. It shifts the whole curve: a silence this much
	// longer than usual is still unremarkable.
	AcceptablePause time.Duration
	// FirstInterval is assumed before real intervals are measured: the
	// window starts with two samples, FirstInterval ± FirstInterval/4
	// (mean FirstInterval, standard deviation FirstInterval/4), as in Akka.
	// 0 means DefaultFirstInterval. Set it to the heartbeat interval.
	FirstInterval time.Duration
}

// Validate reports the first problem with c, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.WindowSize < 0:
		return fmt.Errorf("%w: WindowSize %d is negative", ErrInvalidConfig, c.WindowSize)
	case c.MinStdDev < 0:
		return fmt.Errorf("%w: MinStdDev %v is negative", ErrInvalidConfig, c.MinStdDev)
	case c.AcceptablePause < 0:
		return fmt.Errorf("%w: AcceptablePause %v is negative", ErrInvalidConfig, c.AcceptablePause)
	case c.FirstInterval < 0:
		return fmt.Errorf("%w: FirstInterval %v is negative", ErrInvalidConfig, c.FirstInterval)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.WindowSize == 0 {
		c.WindowSize = DefaultWindowSize
	}
	if c.MinStdDev == 0 {
		c.MinStdDev = DefaultMinStdDev
	}
	if c.AcceptablePause == 0 {
		c.AcceptablePause = DefaultAcceptablePause
	}
	if c.FirstInterval == 0 {
		c.FirstInterval = DefaultFirstInterval
	}
	return c
}
