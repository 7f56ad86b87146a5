package antientropy

import (
	"errors"
	"fmt"
)

// Fanout is the number of children of every internal node of a Tree. Each
// level below the root consumes four more bits of the key hash.
const Fanout = 16

// fanoutBits is log2(Fanout).
const fanoutBits = 4

// MaxPartitionBits is the largest Config.PartitionBits: the ring allows at
// most 2^16 partitions (ring.MaxPartitions).
const MaxPartitionBits = 16

// DefaultDepth is the Depth used when Config.Depth is zero: 256 leaves per
// partition, 1+16+256 = 273 hashes, 2,184 bytes of hashes per tree (2,224
// with the Tree header, MemoryBytes). A node holding all 256 partitions of a
// default ring spends about 570 KB on trees.
//
// Depth trades memory and round trips against the keys shipped per
// differing leaf. An exchange moves, per differing key, one leaf's worth of
// the remote's keys (len+8 bytes each) plus 16 child hashes and 16 request
// indexes (192 bytes) per differing node per level. One more level costs 16x
// the memory and one more round trip, and saves 15/16 of the keys of each
// differing leaf, so it pays once leaves average more than about 7 keys of
// ~20 bytes: beyond about 1,800 keys per partition (460,000 keys over a
// 256-partition ring). Below that, depth-2 leaves hold a key or two and a
// deeper tree only adds hashes.
const DefaultDepth = 2

// MaxDepth is the largest Config.Depth: 16^4 = 65,536 leaves, 69,905 hashes
// (about 560 KB) per tree. Deeper trees would cost megabytes per partition.
const MaxDepth = 4

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("antientropy: invalid config")

// ErrOutOfRange is wrapped by the errors for a level, node index, leaf or
// partition that does not exist in a tree's shape. Such values arrive from
// the network, so they are errors, never panics.
var ErrOutOfRange = errors.New("antientropy: out of range")

// ErrProtocol is wrapped by the errors Compare returns when a Side answers
// something the protocol rules out: the wrong number of hashes, a key outside
// the requested leaves or the page, keys out of order or twice, an empty
// key, a zero digest, too many keys, or "more" with none.
var ErrProtocol = errors.New("antientropy: side broke protocol")

// Config fixes the shape of a Tree. Every replica of a partition must use
// the same Config, or their trees cannot be compared. There is no
// DefaultConfig: PartitionBits is not a choice of this package but must
// equal log2 of the ring's partition count (8 for the default ring of 256).
type Config struct {
	// PartitionBits is log2 of the ring's partition count Q, 0..16. A key's
	// partition is the top PartitionBits bits of its hash, so the tree's
	// leaves are cut from the bits right after those.
	PartitionBits int
	// Depth is the number of levels below the root, 1..MaxDepth; a tree has
	// Fanout^Depth leaves. Deeper trees find differences in smaller leaves
	// (fewer keys shipped per difference) at 16x the memory and one more
	// round trip per level; see DefaultDepth. 0 means DefaultDepth.
	Depth int
}

// Validate reports every problem with c. Each error wraps ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	if b := c.PartitionBits; b < 0 || b > MaxPartitionBits {
		errs = append(errs, fmt.Errorf("%w: partition bits must be in 0..%d, got %d",
			ErrInvalidConfig, MaxPartitionBits, b))
	}
	if d := c.Depth; d < 0 || d > MaxDepth {
		errs = append(errs, fmt.Errorf("%w: depth must be in 1..%d (or 0 for %d), got %d",
			ErrInvalidConfig, MaxDepth, DefaultDepth, d))
	}
	return errors.Join(errs...)
}

// withDefaults replaces zero fields by their defaults.
func (c Config) withDefaults() Config {
	if c.Depth == 0 {
		c.Depth = DefaultDepth
	}
	return c
}

// shape is the arithmetic of a validated, defaulted Config: which bits of a
// key hash name its partition and its leaf.
type shape struct {
	partitionBits int
	depth         int
}

func newShape(c Config) shape {
	c = c.withDefaults()
	return shape{partitionBits: c.PartitionBits, depth: c.Depth}
}

func (s shape) partitions() int { return 1 << s.partitionBits }

func (s shape) leaves() int { return 1 << (fanoutBits * s.depth) }

// nodes returns how many nodes level holds: Fanout^level.
func nodes(level int) int { return 1 << (fanoutBits * level) }

// offset returns where level starts in the level-order hash array:
// 1 + 16 + … + 16^(level-1) = (16^level − 1) / 15.
func offset(level int) int { return (nodes(level) - 1) / (Fanout - 1) }

// partition returns the partition of keyHash: its top partitionBits bits.
// A shift by 64 yields 0 in Go, which is right for a single partition.
func (s shape) partition(keyHash uint64) int {
	return int(keyHash >> (64 - s.partitionBits))
}

// leaf returns the leaf of keyHash: the fanoutBits·depth bits right after
// the partition bits.
func (s shape) leaf(keyHash uint64) int {
	return int((keyHash << s.partitionBits) >> (64 - fanoutBits*s.depth))
}

// leafShift is the number of low key-hash bits that vary inside one leaf.
func (s shape) leafShift() int { return 64 - s.partitionBits - fanoutBits*s.depth }
