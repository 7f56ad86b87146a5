package antientropy_test

import (
	"cmp"
	"context"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/ringkv/ringkv/antientropy"
)

// replica is the in-memory twin of one node's copy of one partition: a map
// from key to digest, and the tree kept current by every write, the way the
// node keeps its tree beside Pebble. It is the Side both ends of every test
// exchange talk to.
type replica struct {
	partition int
	tree      *antientropy.Tree
	data      map[string]uint64
	sorted    []entry // data ordered by key hash, rebuilt after writes
}

type entry struct {
	hash uint64
	key  string
}

func newReplica(cfg antientropy.Config, partition int) *replica {
	return &replica{partition: partition, tree: antientropy.NewTree(cfg), data: map[string]uint64{}}
}

// set writes key at digest (0 deletes it) and updates the tree in place.
func (r *replica) set(key string, digest uint64) {
	old := r.data[key]
	if digest == 0 {
		delete(r.data, key)
	} else {
		r.data[key] = digest
	}
	r.tree.Update(xxhash.Sum64String(key), []byte(key), old, digest)
	r.sorted = nil
}

func (r *replica) Hashes(_ context.Context, level int, indexes []int) ([]uint64, error) {
	return r.tree.Hashes(level, indexes)
}

// Keys lists each leaf with a range scan over the keys sorted by hash, as
// the node scans Pebble: it relies on LeafRange, so tests exercise it.
func (r *replica) Keys(_ context.Context, leaves []int) ([]antientropy.KeyDigest, error) {
	if err := r.tree.CheckLeaves(leaves); err != nil {
		return nil, err
	}
	if r.sorted == nil {
		r.sortByHash()
	}
	var out []antientropy.KeyDigest
	for _, leaf := range leaves {
		lo, hi := r.tree.LeafRange(leaf, r.partition)
		i, _ := slices.BinarySearchFunc(r.sorted, lo, func(e entry, h uint64) int {
			return cmp.Compare(e.hash, h)
		})
		for ; i < len(r.sorted) && r.sorted[i].hash <= hi; i++ {
			k := r.sorted[i].key
			out = append(out, antientropy.KeyDigest{Key: []byte(k), Digest: r.data[k]})
		}
	}
	return out, nil
}

func (r *replica) sortByHash() {
	r.sorted = make([]entry, 0, len(r.data))
	for k := range r.data {
		r.sorted = append(r.sorted, entry{xxhash.Sum64String(k), k})
	}
	slices.SortFunc(r.sorted, func(a, b entry) int { return cmp.Compare(a.hash, b.hash) })
}

// build returns a replica holding data, written in map order.
func build(cfg antientropy.Config, partition int, data map[string]uint64) *replica {
	r := newReplica(cfg, partition)
	for k, d := range data {
		r.set(k, d)
	}
	return r
}

// allHashes returns every hash of t, level by level.
func allHashes(t *antientropy.Tree) [][]uint64 {
	var out [][]uint64
	for level, n := 0, 1; level <= t.Depth(); level, n = level+1, n*antientropy.Fanout {
		h, err := t.Hashes(level, seq(n))
		if err != nil {
			panic(err)
		}
		out = append(out, h)
	}
	return out
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
