package storage

import (
	"encoding/binary"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ringkv/ringkv/antientropy"
	"github.com/ringkv/ringkv/vclock"
)

// trees holds one Merkle tree per ring partition, kept current by every
// write to the store (Store.apply updates it under the key's lock), so an
// exchange never rebuilds anything. Memory is fixed: partitions × one
// tree's MemoryBytes.
type trees struct {
	cfg   antientropy.Config
	mu    []sync.Mutex
	trees []*antientropy.Tree
}

func newTrees(cfg antientropy.Config) *trees {
	n := 1 << cfg.PartitionBits
	ts := &trees{cfg: cfg, mu: make([]sync.Mutex, n), trees: make([]*antientropy.Tree, n)}
	for i := range ts.trees {
		ts.trees[i] = antientropy.NewTree(cfg)
	}
	return ts
}

func (ts *trees) partition(keyHash uint64) int {
	if ts.cfg.PartitionBits == 0 {
		return 0
	}
	return int(keyHash >> (64 - ts.cfg.PartitionBits))
}

// hashRange is the inclusive range of key hashes in partition p.
func (ts *trees) hashRange(p int) (lo, hi uint64) {
	if ts.cfg.PartitionBits == 0 {
		return 0, ^uint64(0)
	}
	shift := 64 - ts.cfg.PartitionBits
	lo = uint64(p) << shift
	return lo, lo | (1<<shift - 1)
}

// update moves key from oldDigest to newDigest (0: absent) in its tree.
func (ts *trees) update(keyHash uint64, key []byte, oldDigest, newDigest uint64) {
	if oldDigest == newDigest {
		return
	}
	p := ts.partition(keyHash)
	ts.mu[p].Lock()
	ts.trees[p].Update(keyHash, key, oldDigest, newDigest)
	ts.mu[p].Unlock()
}

// with runs f on partition p's tree under its lock.
func (ts *trees) with(p int, f func(*antientropy.Tree)) {
	ts.mu[p].Lock()
	defer ts.mu[p].Unlock()
	f(ts.trees[p])
}

func (ts *trees) memoryBytes() int {
	total := 0
	for _, t := range ts.trees {
		total += t.MemoryBytes()
	}
	return total
}

// digestOf is a stored version set's digest; 0 is reserved for "absent".
func digestOf(raw []byte) uint64 {
	if raw == nil {
		return 0
	}
	return max(vclock.DigestEncoding(raw), 1)
}

// buildTrees fills the trees from every data key on disk; it runs once at
// start-up, before the node serves.
func (s *Store) buildTrees() (int, error) {
	lower := []byte{prefixData}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) < 9 {
			continue
		}
		s.trees.update(binary.BigEndian.Uint64(k[1:9]), k[9:], 0, digestOf(it.Value()))
		n++
	}
	return n, it.Error()
}

// TreeHashes answers an exchange's question about partition p's tree.
func (s *Store) TreeHashes(p, level int, indexes []int) ([]uint64, error) {
	var hashes []uint64
	var err error
	s.trees.with(p, func(t *antientropy.Tree) { hashes, err = t.Hashes(level, indexes) })
	return hashes, err
}

// TreeBytes is the memory the trees hold.
func (s *Store) TreeBytes() int { return s.trees.memoryBytes() }

// TreeConfig is the shape of this store's Merkle trees.
func (s *Store) TreeConfig() antientropy.Config { return s.trees.cfg }

// HashRange is partition p's range of key hashes, both ends included.
func (s *Store) HashRange(p int) (lo, hi uint64) { return s.trees.hashRange(p) }

// CheckLeaves refuses leaf indexes outside the trees.
func (s *Store) CheckLeaves(leaves []int) error {
	var err error
	s.trees.with(0, func(t *antientropy.Tree) { err = t.CheckLeaves(leaves) })
	return err
}

// hashRangeIter iterates the keys under prefix ('d' or 'x', both laid out
// as prefix | xxhash(key) | key) whose hash is in [lo, hi].
func (s *Store) hashRangeIter(prefix byte, lo, hi uint64) (*pebble.Iterator, error) {
	lower := binary.BigEndian.AppendUint64([]byte{prefix}, lo)
	upper := prefixEnd([]byte{prefix})
	if hi < ^uint64(0) {
		upper = binary.BigEndian.AppendUint64([]byte{prefix}, hi+1)
	}
	return s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
}
