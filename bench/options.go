package bench

import (
	"fmt"
	"io"
	"time"
)

// Defaults for the zero fields of Options.
const (
	DefaultRecords   = 10_000
	DefaultDuration  = 30 * time.Second
	DefaultValueSize = 100
	DefaultClients   = 16
	DefaultTimeout   = 5 * time.Second
)

// Options describe one benchmark. The zero value runs workload A for 30 s
// with 16 closed-loop clients over 10,000 records of 100 bytes.
type Options struct {
	// Workload is the operation mix and key distribution; zero → preset a.
	Workload Workload
	// Records is how many records the load phase inserts and the run reads
	// and updates (zero → 10,000).
	Records int64
	// Operations ends the run after that many operations (zero: no limit).
	Operations int64
	// Duration ends the run after that long (zero: no limit). With both
	// zero the run lasts DefaultDuration; with both set, whichever comes
	// first.
	Duration time.Duration
	// ValueSize is the bytes of every inserted or updated value (zero →
	// 100). YCSB's equivalent is fieldcount × fieldlength.
	ValueSize int
	// Clients is the closed loop's concurrent clients, or the open loop's
	// bound on operations in flight (zero → 16).
	Clients int
	// Rate is the open loop's target in operations per second over all
	// clients; zero runs a closed loop. A higher rate than the store can
	// serve shows up as latency and missed operations, not as a lower rate.
	Rate float64
	// Timeout is every driver call's deadline (zero → 5 s).
	Timeout time.Duration
	// SkipLoad skips the load phase: the records must already exist.
	SkipLoad bool
	// OrderedInserts names records "user<n>" instead of "user<hash of n>"
	// (YCSB's insertorder=ordered).
	OrderedInserts bool
	// Seed makes key and operation choices repeatable; zero picks one.
	Seed uint64
	// Target says what is being measured, e.g. "ringkv at 127.0.0.1:7070
	// (r=2, w=2)"; reports print it.
	Target string
	// Live, if set, receives a progress line once a second, rewritten in
	// place with \r (for a terminal).
	Live io.Writer
	// Clock times operations and schedules the open loop; nil → the wall
	// clock. Tests pass a fake.
	Clock Clock
}

// Clock is the time source of a run.
type Clock interface {
	Now() time.Time
	// After delivers once d has passed.
	After(d time.Duration) <-chan time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Workload == (Workload{}) {
		o.Workload = presets["a"]
	}
	if o.Records == 0 {
		o.Records = DefaultRecords
	}
	if o.Operations == 0 && o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.ValueSize == 0 {
		o.ValueSize = DefaultValueSize
	}
	if o.Clients == 0 {
		o.Clients = DefaultClients
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	return o
}

// Validate reports the first option out of range (after defaults).
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Records < 1:
		return fmt.Errorf("%w: records %d must be at least 1", ErrInvalid, o.Records)
	case o.Operations < 0:
		return fmt.Errorf("%w: operations %d is negative", ErrInvalid, o.Operations)
	case o.Duration < 0:
		return fmt.Errorf("%w: duration %s is negative", ErrInvalid, o.Duration)
	case o.ValueSize < 0:
		return fmt.Errorf("%w: value size %d is negative", ErrInvalid, o.ValueSize)
	case o.Clients < 1:
		return fmt.Errorf("%w: clients %d must be at least 1", ErrInvalid, o.Clients)
	case o.Rate < 0 || o.Rate != o.Rate:
		return fmt.Errorf("%w: rate %v must be positive (or 0 for a closed loop)", ErrInvalid, o.Rate)
	case o.Timeout < 0:
		return fmt.Errorf("%w: timeout %s is negative", ErrInvalid, o.Timeout)
	}
	return o.Workload.Validate()
}

// Model states the load model, e.g. "closed loop, 16 clients".
func (o Options) Model() string {
	o = o.withDefaults()
	if o.Rate == 0 {
		return closedModel(o.Clients)
	}
	return fmt.Sprintf("open loop at %s ops/s target, latency from intended start (up to %d in flight)",
		formatFloat(o.Rate), o.Clients)
}

func closedModel(clients int) string {
	if clients == 1 {
		return "closed loop, 1 client"
	}
	return fmt.Sprintf("closed loop, %d clients", clients)
}
