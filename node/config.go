package node

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"time"

	"github.com/ringkv/ringkv/ring"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/transfers"
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

	// InitialMembers names a new cluster's founding members (serve
	// --initial-members, like etcd's --initial-cluster): each founder that
	// starts without a stored ring builds the same one, owned by them all,
	// so a fresh cluster needs no transfers. A node not named here that has
	// no stored ring learns the cluster's from its seeds and joins it as a
	// pending owner; a node with neither seeds nor InitialMembers founds a
	// one-node cluster. Ignored once a ring is stored.
	InitialMembers []string

	// MaxValueBytes bounds a value; 0 → 1 MiB. Bigger values cost memory on
	// every replica and in every sibling set that holds them.
	MaxValueBytes int
	// MaxSiblings bounds the siblings a client write may leave; 0 → 100.
	// A key with many siblings is expensive to read and to replicate.
	MaxSiblings int
	// RequestTimeout is the deadline of a request that arrives without
	// one; 0 → 5s. Requests may ask for less, never for more than 10x this.
	RequestTimeout time.Duration
	// MaxRequests bounds the client requests (and writes forwarded by
	// other nodes) this node works on at once; 0 → 4096. Past it a request
	// is refused at once with ResourceExhausted, so an overloaded node
	// sheds load instead of queueing without end. Lower keeps latency
	// bounded under overload; higher absorbs bigger bursts.
	MaxRequests int
	// JoinTimeout is how long start-up keeps retrying the seeds; 0 → 10s.
	JoinTimeout time.Duration
	// MinSyncInterval is the least time between two fsyncs of the write-
	// ahead log; 0 → 1ms, negative: none. Writes that arrive meanwhile
	// share the next fsync. Every acknowledged write is still synced; under
	// load this trades at most the interval of latency for far fewer
	// fsyncs (on workload A at 64 clients, 1ms gave 30% more throughput and
	// a lower p99). A disk whose fsync takes longer than the interval is
	// not slowed at all.
	MinSyncInterval time.Duration

	// DiskReserveBytes is the free space writes never use; 0 → 256 MiB,
	// negative: none. Below it a node refuses writes (client writes, replica
	// writes and hints from peers) with ResourceExhausted, and keeps
	// serving reads and delivering hints, so Pebble always has room to
	// flush and compact and the disk never fills under it. Bigger is safer
	// under heavy writes and compactions; it must cover at least a memtable
	// flush (32 MiB).
	DiskReserveBytes int64
	// DiskBallastBytes is the size of the emergency ballast file kept in
	// the data directory; 0 → 64 MiB, negative: none. A node that finds
	// less than half the reserve free (at start, or while it runs: its own
	// writes stop at the reserve, so something else filled the disk)
	// deletes it, so storage can open, flush and compact and the node serve
	// reads; writes stay refused until there is room for the reserve and
	// the ballast again, and the ballast is then re-created.
	DiskBallastBytes int64

	// PhiThreshold is the failure detector's suspicion level above which a
	// peer is routed around; 0 → 8. Lower reroutes sooner after a crash,
	// higher suspects less often on a loaded machine.
	PhiThreshold float64
	// HeartbeatInterval is how often each node sends every peer a
	// heartbeat for the phi detector; 0 → 1s.
	HeartbeatInterval time.Duration
	// ReplicaTimeout bounds one attempt to write to a replica before the
	// write falls back to a hint; 0 → 1s.
	ReplicaTimeout time.Duration

	// DisableHintedHandoff turns the sloppy quorum off: writes go to the
	// preference list only, and a replica that misses one catches up only
	// through read repair.
	DisableHintedHandoff bool
	// HintWindow is how long a hint is kept for an absent replica after the
	// newest write merged into it; 0 → 3h. Older hints are dropped (and
	// counted): anti-entropy covers them.
	HintWindow time.Duration
	// HintBudgetBytes bounds the hints held for one target; 0 → 1 GiB.
	HintBudgetBytes int64
	// HandoffRate bounds hint deliveries per second, all targets together;
	// 0 → 2000. A ceiling, not a target: on a small machine the drain is
	// limited by CPU, fsync and HandoffConcurrency first (730–1330 hints/s
	// measured on 2 cores).
	HandoffRate float64
	// HandoffConcurrency bounds hint deliveries in flight; 0 → 4. More
	// drains faster and costs foreground throughput and latency (16 in
	// flight drained 50,000 hints a third faster and halved foreground
	// throughput on 2 cores).
	HandoffConcurrency int

	// DisableAntiEntropy stops Merkle-tree exchanges (trees are still kept).
	DisableAntiEntropy bool
	// AntiEntropyInterval is how often every partition this node
	// replicates is compared with another replica (a pass is paced to
	// take 3/4 of it); 0 → 10m. Shorter finds divergence sooner and costs
	// more background traffic.
	AntiEntropyInterval time.Duration
	// AntiEntropyRepairRate bounds keys repaired per second by exchanges;
	// 0 → 1000. A tombstone one replica lacks is no repair and costs none
	// of it. An exchange whose repairs would outlast its 30s deadline at
	// this rate is cut short and counted incomplete (its repairs stay).
	AntiEntropyRepairRate float64
	// TombstoneGrace is how long a tombstone is kept at least; 0 → 6h. It
	// is reaped once the grace has passed and an exchange started after
	// that found every other primary holding it (or nothing): reaping waits
	// a few AntiEntropyIntervals past the grace (the partition's exchanges
	// take its other primaries in turn). It must exceed
	// HintWindow, so that by then no hint older than the tombstone can
	// bring the key back to a replica seen holding nothing.
	TombstoneGrace time.Duration
	// Transfers shapes the partition transfers this node sends to pending
	// owners (package transfers; zero fields take transfers.DefaultConfig's).
	// Rate (bytes/s, all transfers together) is serve's --transfer-rate and
	// Concurrency (partitions streaming at once) its --transfer-concurrency;
	// see transfers.Config for their trade-offs. The node sets Logger and
	// OnDone.
	Transfers transfers.Config

	// TreeDepth is the Merkle trees' depth (leaves = 16^depth per
	// partition); 0 → antientropy.DefaultDepth.
	TreeDepth int

	// EnablePprof serves Go's profiler at /debug/pprof/ on the API port.
	// Off by default: profiles expose internals and cost CPU while taken.
	EnablePprof bool

	Logger *slog.Logger // nil → discard
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		N:               ring.DefaultN,
		Partitions:      ring.DefaultPartitions,
		VNodes:          ring.DefaultVNodes,
		MaxValueBytes:   DefaultMaxValueBytes,
		MaxSiblings:     DefaultMaxSiblings,
		RequestTimeout:  DefaultRequestTimeout,
		MaxRequests:     4096,
		JoinTimeout:     10 * time.Second,
		MinSyncInterval: time.Millisecond,

		DiskReserveBytes: storage.DefaultDiskReserveBytes,
		DiskBallastBytes: storage.DefaultDiskBallastBytes,

		PhiThreshold:       8,
		HeartbeatInterval:  time.Second,
		ReplicaTimeout:     time.Second,
		HintWindow:         3 * time.Hour,
		HintBudgetBytes:    1 << 30,
		HandoffRate:        2000,
		HandoffConcurrency: 4,

		AntiEntropyInterval:   10 * time.Minute,
		AntiEntropyRepairRate: 1000,
		TombstoneGrace:        6 * time.Hour,

		Transfers: transfers.Config{Rate: transfers.DefaultConfig().Rate, Concurrency: transfers.DefaultConfig().Concurrency},
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
	setDefault(&c.MaxRequests, d.MaxRequests)
	setDefault(&c.JoinTimeout, d.JoinTimeout)
	setDefault(&c.MinSyncInterval, d.MinSyncInterval)
	setDefault(&c.DiskReserveBytes, d.DiskReserveBytes)
	setDefault(&c.DiskBallastBytes, d.DiskBallastBytes)
	setDefault(&c.PhiThreshold, d.PhiThreshold)
	setDefault(&c.HeartbeatInterval, d.HeartbeatInterval)
	setDefault(&c.ReplicaTimeout, d.ReplicaTimeout)
	setDefault(&c.HintWindow, d.HintWindow)
	setDefault(&c.HintBudgetBytes, d.HintBudgetBytes)
	setDefault(&c.HandoffRate, d.HandoffRate)
	setDefault(&c.HandoffConcurrency, d.HandoffConcurrency)
	setDefault(&c.AntiEntropyInterval, d.AntiEntropyInterval)
	setDefault(&c.AntiEntropyRepairRate, d.AntiEntropyRepairRate)
	setDefault(&c.TombstoneGrace, d.TombstoneGrace)
	setDefault(&c.Transfers.Rate, transfers.DefaultConfig().Rate)
	setDefault(&c.Transfers.Concurrency, transfers.DefaultConfig().Concurrency)
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
	case !validID(c.ID):
		return fmt.Errorf("%w: --id %q must be 1..64 letters, digits, '.', '_' or '-'", ErrInvalidConfig, c.ID)
	case c.Dir == "":
		return fmt.Errorf("%w: --dir is required", ErrInvalidConfig)
	case c.MaxValueBytes < 0 || c.MaxValueBytes > 64<<20:
		return fmt.Errorf("%w: max value bytes %d is outside 1..%d", ErrInvalidConfig, c.MaxValueBytes, 64<<20)
	case c.MinSyncInterval > 100*time.Millisecond:
		return fmt.Errorf("%w: --min-sync-interval %s would hold every write for up to that long; the limit is 100ms", ErrInvalidConfig, c.MinSyncInterval)
	case c.MaxSiblings < 0:
		return fmt.Errorf("%w: max siblings %d is negative", ErrInvalidConfig, c.MaxSiblings)
	case c.PhiThreshold < 0 || c.MaxRequests < 0 || c.HandoffRate < 0 || c.HandoffConcurrency < 0 || c.HintBudgetBytes < 0 || c.AntiEntropyRepairRate < 0:
		return fmt.Errorf("%w: phi threshold, max requests, rates, handoff concurrency and hint budget must not be negative", ErrInvalidConfig)
	case c.TombstoneGrace <= c.HintWindow:
		return fmt.Errorf("%w: --tombstone-grace %s must be longer than --hint-window %s, or a late hint could bring a deleted key back",
			ErrInvalidConfig, c.TombstoneGrace, c.HintWindow)
	}
	if err := c.validateTransfers(); err != nil {
		return err
	}
	for _, id := range c.InitialMembers {
		if !validID(id) {
			return fmt.Errorf("%w: --initial-members: %q is not a node id", ErrInvalidConfig, id)
		}
	}
	for _, a := range []struct{ flag, addr string }{{"--listen", c.Listen}, {"--gossip", c.Gossip}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return fmt.Errorf("%w: %s %q: %w", ErrInvalidConfig, a.flag, a.addr, err)
		}
	}
	return c.ringConfig().Validate()
}

// maxTransferConcurrency bounds --transfer-concurrency: each partition
// streaming reads and holds a batch, and the rate bounds them all anyway.
const maxTransferConcurrency = 256

// validateTransfers checks the transfer flags, then the rest of the
// transfers' Config.
func (c Config) validateTransfers() error {
	t := c.Transfers
	switch {
	case math.IsNaN(t.Rate) || t.Rate < 0:
		return fmt.Errorf("%w: --transfer-rate %v must be a positive number of bytes per second", ErrInvalidConfig, t.Rate)
	case t.Concurrency < 0 || t.Concurrency > maxTransferConcurrency:
		return fmt.Errorf("%w: --transfer-concurrency %d is outside 1..%d", ErrInvalidConfig, t.Concurrency, maxTransferConcurrency)
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

func (c Config) ringConfig() ring.Config {
	return ring.Config{Partitions: c.Partitions, VNodes: c.VNodes, N: c.N}
}

// validID keeps node ids printable and free of the 0x00 byte that ends a
// target id inside hint keys.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		ok := r == '.' || r == '_' || r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}
