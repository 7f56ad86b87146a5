package ring

import (
	"errors"
	"fmt"
	"math/bits"
)

// DefaultPartitions is the partition count Q used when Config.Partitions is
// zero. 256 partitions keep per-partition state (preference lists, Merkle
// trees) small while giving each node of a cluster of up to ~50 nodes enough
// partitions to balance within about 1.5x of its fair share.
const DefaultPartitions = 256

// MaxPartitions is the largest partition count Config accepts.
const MaxPartitions = 1 << 16

// DefaultN is the replica count used when Config.N is zero.
const DefaultN = 3

// DefaultVNodes is the token count per node used when Config.VNodes is zero.
//
// Balance, max/mean partition-replicas per node at Q=256 and N=3, from
// `go test -v -run Balance ./ring -args -balance.sets=64` (left: members
// "n1".."nM"; right: mean over 64 other id sets of M members):
//
//	V    | n1..n5 n1..n10 n1..n50 |  M=5  M=10  M=20  M=50
//	8    |  1.37   1.22    1.69   | 1.23  1.32  1.43  1.53
//	16   |  1.17   1.30    1.30   | 1.18  1.25  1.31  1.44
//	32   |  1.09   1.13    1.30   | 1.12  1.17  1.24  1.44
//	64   |  1.08   1.12    1.43   | 1.08  1.13  1.20  1.51
//	128  |  1.04   1.09    1.76   | 1.07  1.12  1.24  1.55
//	256  |  1.02   1.13    1.43   | 1.06  1.13  1.25  1.56
//
// Up to 20 members, more tokens help until about 64 and then flatten. At 50
// members and Q=256 nothing helps: each member holds only ~15
// partition-replicas, and with 256 partitions as sample points what is left
// is partition granularity, not token placement (a cluster that large wants
// a larger Q). At Q=1024 the mean balance for 5/10/20/50 members is
// 1.13/1.16/1.18/1.26 with V=32, 1.10/1.13/1.15/1.20 with V=64 and
// 1.07/1.09/1.11/1.21 with V=128. Each doubling of V doubles the tokens
// sorted when a ring is built (BenchmarkNew), so 64 is where balance stops
// paying for build cost.
const DefaultVNodes = 64

// MaxVNodes bounds Config.VNodes so that a ring build stays cheap
// (tokens = members × VNodes are sorted on every membership change).
const MaxVNodes = 4096

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("ring: invalid config")

// Config fixes the shape of a ring. Its zero value is valid and means
// DefaultConfig(). Every node of a cluster must use the same Config, or
// nodes will disagree on placement.
type Config struct {
	// Partitions is Q, the number of equal slices of the 64-bit hash space;
	// a power of two in 1..65536, fixed when the cluster is created. More
	// partitions balance load better but cost per-partition state (one
	// preference list and walk here, one Merkle tree in anti-entropy).
	// 0 means DefaultPartitions.
	Partitions int
	// VNodes is V, the number of tokens each node places on the ring; 1..4096.
	// More tokens balance better but make the ring larger to build.
	// 0 means DefaultVNodes.
	VNodes int
	// N is the number of replicas of each key (distinct nodes); at least 1.
	// A ring with fewer members than N gives every partition all members.
	// 0 means DefaultN.
	N int
}

// DefaultConfig returns the configuration the zero Config stands for.
func DefaultConfig() Config {
	return Config{Partitions: DefaultPartitions, VNodes: DefaultVNodes, N: DefaultN}
}

// Validate reports every problem with c. Each error wraps ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	if p := c.Partitions; p != 0 && (p < 1 || p > MaxPartitions || bits.OnesCount(uint(p)) != 1) {
		errs = append(errs, fmt.Errorf("%w: partitions must be a power of two in 1..%d (or 0 for %d), got %d",
			ErrInvalidConfig, MaxPartitions, DefaultPartitions, p))
	}
	if v := c.VNodes; v < 0 || v > MaxVNodes {
		errs = append(errs, fmt.Errorf("%w: vnodes must be in 1..%d (or 0 for %d), got %d",
			ErrInvalidConfig, MaxVNodes, DefaultVNodes, v))
	}
	if c.N < 0 {
		errs = append(errs, fmt.Errorf("%w: replicas (N) must be at least 1 (or 0 for %d), got %d",
			ErrInvalidConfig, DefaultN, c.N))
	}
	return errors.Join(errs...)
}

// withDefaults replaces zero fields by their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Partitions == 0 {
		c.Partitions = d.Partitions
	}
	if c.VNodes == 0 {
		c.VNodes = d.VNodes
	}
	if c.N == 0 {
		c.N = d.N
	}
	return c
}
