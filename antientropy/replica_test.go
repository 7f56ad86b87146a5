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

// Keys lists a page of the leaves with a range scan over the keys sorted by
// hash, as the node scans Pebble: it relies on LeafRange, so tests exercise
// it. Keys whose digest is odd count as tombstones.
func (r *replica) Keys(_ context.Context, q antientropy.KeysQuery) (antientropy.KeysPage, error) {
	if err := r.tree.CheckLeaves(q.Leaves); err != nil {
		return antientropy.KeysPage{}, err
	}
	if r.sorted == nil {
		r.sortByHash()
	}
	var page antientropy.KeysPage
	for _, leaf := range q.Leaves {
		lo, hi := r.tree.LeafRange(leaf, r.partition)
		i, _ := slices.BinarySearchFunc(r.sorted, lo, func(e entry, h uint64) int {
			return cmp.Compare(e.hash, h)
		})
		for ; i < len(r.sorted) && r.sorted[i].hash <= hi; i++ {
			k := []byte(r.sorted[i].key)
			if len(q.After) > 0 && antientropy.KeyOrder(k, q.After) <= 0 {
				continue
			}
			if len(q.Until) > 0 && antientropy.KeyOrder(k, q.Until) > 0 {
				return page, nil
			}
			if len(page.Keys) == q.Limit {
				page.More = true
				return page, nil
			}
			d := r.data[string(k)]
			page.Keys = append(page.Keys, antientropy.KeyDigest{Key: k, Digest: d, Tombstone: d%2 == 1})
		}
	}
	return page, nil
}

func (r *replica) sortByHash() {
	r.sorted = make([]entry, 0, len(r.data))
	for k := range r.data {
		r.sorted = append(r.sorted, entry{xxhash.Sum64String(k), k})
	}
	slices.SortFunc(r.sorted, func(a, b entry) int {
		return antientropy.KeyOrder([]byte(a.key), []byte(b.key))
	})
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
