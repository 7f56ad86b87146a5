package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/ringkv/ringkv/ring"
)

// Limits and defaults.
const (
	MaxKeyBytes           = 2048
	DefaultMaxValueBytes  = 1 << 20
	DefaultMaxSiblings    = 100
	DefaultRequestTimeout = 5 * time.Second
)

// ErrInvalidConfig wraps every configuration error.
var ErrInvalidConfig = errors.New("node: invalid config")

// Config configures a Node. The zero value of every optional field selects
// its default.
type Config struct {
	ID         string   // node id, unique in the cluster (e.g. "n1")
	Dir        string   // data directory (Pebble)
	Listen     string   // host:port for the Connect API, admin, replica calls and /metrics
	Gossip     string   // host:port for memberlist (TCP and UDP)
	Seeds      []string // gossip addresses of nodes to join through
	N          int      // replication factor; 0 → 3. Must match the cluster's.
	Partitions int      // ring partitions (power of two); 0 → 256. Must match the cluster's.
	VNodes     int      // vnode tokens per node; 0 → ring.DefaultVNodes

	// MaxValueBytes bounds a value; 0 → 1 MiB. Bigger values cost memory on
	// every replica and in every sibling set that holds them.
	MaxValueBytes int
	// MaxSiblings bounds the siblings a client write may leave; 0 → 100.
	// A key with many siblings is expensive to read and to replicate.
	MaxSiblings int
	// RequestTimeout is the deadline of a request that arrives without
	// one; 0 → 5s. Requests may ask for less, never for more than 10x this.
	RequestTimeout time.Duration
	// JoinTimeout is how long start-up keeps retrying the seeds; 0 → 10s.
	JoinTimeout time.Duration

	Logger *slog.Logger // nil → discard
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		N:              ring.DefaultN,
		Partitions:     ring.DefaultPartitions,
		VNodes:         ring.DefaultVNodes,
		MaxValueBytes:  DefaultMaxValueBytes,
		MaxSiblings:    DefaultMaxSiblings,
		RequestTimeout: DefaultRequestTimeout,
		JoinTimeout:    10 * time.Second,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setDefault(&c.N, d.N)
	setDefault(&c.Partitions, d.Partitions)
	setDefault(&c.VNodes, d.VNodes)
	setDefault(&c.MaxValueBytes, d.MaxValueBytes)
	setDefault(&c.MaxSiblings, d.MaxSiblings)
	setDefault(&c.RequestTimeout, d.RequestTimeout)
	setDefault(&c.JoinTimeout, d.JoinTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports the first problem with c (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.ID == "":
		return fmt.Errorf("%w: --id is required", ErrInvalidConfig)
	case c.Dir == "":
		return fmt.Errorf("%w: --dir is required", ErrInvalidConfig)
	case c.MaxValueBytes < 0 || c.MaxValueBytes > 64<<20:
		return fmt.Errorf("%w: max value bytes %d is outside 1..%d", ErrInvalidConfig, c.MaxValueBytes, 64<<20)
	case c.MaxSiblings < 0:
		return fmt.Errorf("%w: max siblings %d is negative", ErrInvalidConfig, c.MaxSiblings)
	}
	for _, a := range []struct{ flag, addr string }{{"--listen", c.Listen}, {"--gossip", c.Gossip}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return fmt.Errorf("%w: %s %q: %w", ErrInvalidConfig, a.flag, a.addr, err)
		}
	}
	return c.ringConfig().Validate()
}

func (c Config) ringConfig() ring.Config {
	return ring.Config{Partitions: c.Partitions, VNodes: c.VNodes, N: c.N}
}
