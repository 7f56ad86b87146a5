package antientropy

import (
	"encoding/binary"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// Tree is the Merkle tree of one partition on one replica: a complete
// Fanout-ary tree of fixed shape whose leaves are contiguous ranges of key
// hashes. A leaf's hash is the XOR of ItemHash(key, digest) over the keys it
// holds; an internal node's hash is the XOR of its children's, so every
// node's hash is the XOR of the items below it and the empty tree is all
// zeros.
//
// A Tree is not safe for concurrent use; the caller locks. Only Leaf,
// LeafRange, CheckLeaves, Leaves, Depth and Config are exceptions: they read
// the fixed shape alone, so they may run beside anything.
type Tree struct {
	// hashes holds every level in order, root first, in heap layout: the
	// children of position i are 16i+1 … 16i+16, its parent (i−1)/16.
	hashes []uint64
	shape
}

// treeHeader is the size of a Tree value (a slice header and two ints) on
// a 64-bit platform, counted by MemoryBytes.
const treeHeader = 24 + 8 + 8

// NewTree returns an empty tree of shape cfg. It panics if cfg is invalid
// (cfg.Validate() != nil): the shape is fixed by the node's own
// configuration, not by peers, so an invalid one is a programming error.
func NewTree(cfg Config) *Tree {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	s := newShape(cfg)
	return &Tree{hashes: make([]uint64, offset(s.depth+1)), shape: s}
}

// ItemHash returns what a leaf XORs in for key at digest: xxhash64 of key
// followed by digest in 8 little-endian bytes. The digest has a fixed width,
// so distinct (key, digest) pairs hash distinct inputs.
func ItemHash(key []byte, digest uint64) uint64 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.Write(key)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], digest)
	_, _ = d.Write(b[:])
	return d.Sum64()
}

// Config returns the tree's shape, with Depth defaulted.
func (t *Tree) Config() Config {
	return Config{PartitionBits: t.partitionBits, Depth: t.depth}
}

// Depth returns the number of levels below the root.
func (t *Tree) Depth() int { return t.depth }

// Leaves returns the number of leaves, Fanout^Depth.
func (t *Tree) Leaves() int { return t.leaves() }

// Root returns the root hash: the XOR of every item in the tree, 0 when
// the tree is empty.
func (t *Tree) Root() uint64 { return t.hashes[0] }

// Leaf returns the leaf that holds keyHash: the Depth·4 bits right after the
// partition bits. It ignores the partition bits; the caller must only pass
// hashes of this tree's partition.
func (t *Tree) Leaf(keyHash uint64) int { return t.leaf(keyHash) }

// LeafRange returns the inclusive range [lo, hi] of key hashes that leaf of
// partition holds, so the node can list a leaf's keys with one range scan
// over data sorted by key hash. Adjacent leaves have adjacent ranges. It
// panics if leaf or partition is out of range; check leaves that came from
// the network with CheckLeaves first.
func (t *Tree) LeafRange(leaf, partition int) (lo, hi uint64) {
	if leaf < 0 || leaf >= t.leaves() || partition < 0 || partition >= t.partitions() {
		panic(fmt.Sprintf("antientropy: LeafRange(%d, %d) outside %d leaves × %d partitions",
			leaf, partition, t.leaves(), t.partitions()))
	}
	shift := t.leafShift()
	lo = uint64(partition)<<(64-t.partitionBits) | uint64(leaf)<<shift
	return lo, lo | (1<<shift - 1)
}

// CheckLeaves returns an error wrapping ErrOutOfRange if any of leaves is not
// a leaf of this tree. The node calls it on leaves a peer asked for before
// calling LeafRange.
func (t *Tree) CheckLeaves(leaves []int) error {
	for _, l := range leaves {
		if l < 0 || l >= t.leaves() {
			return fmt.Errorf("%w: leaf %d not in 0..%d", ErrOutOfRange, l, t.leaves()-1)
		}
	}
	return nil
}

// Update records that key (whose hash is keyHash) went from digest
// oldDigest to newDigest, 0 meaning absent: it XORs ItemHash(key, oldDigest)
// out and ItemHash(key, newDigest) in, at the leaf and every ancestor.
// O(Depth), no allocation. oldDigest must be the digest the tree last
// recorded for key, or the tree drifts (a rebuild repairs it).
func (t *Tree) Update(keyHash uint64, key []byte, oldDigest, newDigest uint64) {
	if oldDigest == newDigest {
		return
	}
	var delta uint64
	if oldDigest != 0 {
		delta ^= ItemHash(key, oldDigest)
	}
	if newDigest != 0 {
		delta ^= ItemHash(key, newDigest)
	}
	for i := offset(t.depth) + t.leaf(keyHash); ; i = (i - 1) / Fanout {
		t.hashes[i] ^= delta
		if i == 0 {
			return
		}
	}
}

// Hashes returns the hashes of the nodes at level (0 is the root, Depth the
// leaves) with the given indexes (0..Fanout^level−1), in the order asked.
// Level and indexes may come from the network: anything out of range
// returns (nil, error wrapping ErrOutOfRange), never a panic.
func (t *Tree) Hashes(level int, indexes []int) ([]uint64, error) {
	if level < 0 || level > t.depth {
		return nil, fmt.Errorf("%w: level %d not in 0..%d", ErrOutOfRange, level, t.depth)
	}
	row := t.hashes[offset(level):offset(level+1)]
	out := make([]uint64, len(indexes))
	for i, ix := range indexes {
		if ix < 0 || ix >= len(row) {
			return nil, fmt.Errorf("%w: index %d at level %d not in 0..%d",
				ErrOutOfRange, ix, level, len(row)-1)
		}
		out[i] = row[ix]
	}
	return out, nil
}

// MemoryBytes returns the bytes the tree occupies: its hashes (8 per node,
// (16^(Depth+1)−1)/15 nodes) plus the Tree value.
func (t *Tree) MemoryBytes() int { return 8*len(t.hashes) + treeHeader }

// Reset empties the tree, keeping its memory, before a rebuild.
func (t *Tree) Reset() { clear(t.hashes) }
