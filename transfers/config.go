package transfers

import (
	"fmt"
	"log/slog"
	"time"
)

// Config shapes a Manager. Zero fields take DefaultConfig's values.
type Config struct {
	// Rate is the bytes per second all of this node's outgoing transfers
	// may send together. Higher finishes transfers sooner and takes more
	// disk reads, network and the receivers' fsyncs from foreground
	// requests. Provisional default, 8 MiB/s, until measured (issue 12).
	Rate float64
	// Concurrency is how many partitions stream at once. More overlaps
	// round trips (a batch costs the receiver one fsync) but reads more
	// partitions' data at once; the rate bounds the total either way.
	Concurrency int
	// BatchKeys and BatchBytes bound one batch (one Pebble read, one
	// request, one synced write on the receiver); a batch holds at least
	// one key, however large. Bigger batches cost fewer fsyncs and more
	// memory, and repeat more after a failed call.
	BatchKeys  int
	BatchBytes int
	// CallTimeout is the deadline of each call to a peer.
	CallTimeout time.Duration
	// RetryBase and RetryMax bound the backoff (full jitter) between
	// attempts of a transfer whose call failed; a transfer retries until it
	// finishes, is cancelled or the Manager closes.
	RetryBase, RetryMax time.Duration
	// MaxJobs bounds the transfers started and not finished.
	MaxJobs int
	// Now is the clock for progress (rate, ETA); nil → time.Now.
	Now func() time.Time
	// OnDone is called once per finished transfer, when the receiver has
	// applied the whole stream, by the transfer's goroutine after it gave
	// up its slot: node then runs one anti-entropy exchange with the
	// receiver; the receiver reports TransferDone. nil: none.
	OnDone func(ID)
	Logger *slog.Logger // nil: slog.Default()
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Rate: 8 << 20, Concurrency: 2, BatchKeys: 512, BatchBytes: 1 << 20,
		CallTimeout: 10 * time.Second, RetryBase: 100 * time.Millisecond, RetryMax: 10 * time.Second,
		MaxJobs: 1 << 16, Now: time.Now, Logger: slog.Default()}
}

// Validate refuses negative or out-of-bounds values.
func (c Config) Validate() error {
	switch {
	case c.Rate < 0:
		return fmt.Errorf("%w: rate %v bytes/s is negative", ErrBadConfig, c.Rate)
	case c.Concurrency < 0 || c.MaxJobs < 0:
		return fmt.Errorf("%w: concurrency %d and max jobs %d must not be negative", ErrBadConfig, c.Concurrency, c.MaxJobs)
	case c.BatchKeys < 0 || c.BatchKeys > MaxBatchKeys:
		return fmt.Errorf("%w: batch keys %d not in 0..%d", ErrBadConfig, c.BatchKeys, MaxBatchKeys)
	case c.BatchBytes < 0 || c.BatchBytes > MaxBatchBytes/2:
		return fmt.Errorf("%w: batch bytes %d not in 0..%d", ErrBadConfig, c.BatchBytes, MaxBatchBytes/2)
	case c.CallTimeout < 0 || c.RetryBase < 0 || c.RetryMax < 0:
		return fmt.Errorf("%w: durations must not be negative", ErrBadConfig)
	}
	return nil
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.Rate = or(c.Rate, d.Rate)
	c.Concurrency = or(c.Concurrency, d.Concurrency)
	c.BatchKeys = or(c.BatchKeys, d.BatchKeys)
	c.BatchBytes = or(c.BatchBytes, d.BatchBytes)
	c.CallTimeout = or(c.CallTimeout, d.CallTimeout)
	c.RetryBase = or(c.RetryBase, d.RetryBase)
	c.RetryMax = or(c.RetryMax, d.RetryMax)
	c.MaxJobs = or(c.MaxJobs, d.MaxJobs)
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	return c
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
