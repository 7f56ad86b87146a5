package antientropy_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/ringkv/ringkv/antientropy"
)

// mapSide is the smallest Side: a tree kept beside a map of key to digest.
// The node keeps its tree beside Pebble and lists a leaf with a range scan
// over Tree.LeafRange instead of scanning everything.
type mapSide struct {
	tree *antientropy.Tree
	data map[string]uint64
}

func (s mapSide) put(key string, digest uint64) {
	s.tree.Update(xxhash.Sum64String(key), []byte(key), s.data[key], digest)
	s.data[key] = digest
}

func (s mapSide) Hashes(_ context.Context, level int, indexes []int) ([]uint64, error) {
	return s.tree.Hashes(level, indexes)
}

// Keys answers every query in one page: the example's partition is small.
// A real side stops at q.Limit and says More.
func (s mapSide) Keys(_ context.Context, q antientropy.KeysQuery) (antientropy.KeysPage, error) {
	var page antientropy.KeysPage
	for k, d := range s.data {
		if slices.Contains(q.Leaves, s.tree.Leaf(xxhash.Sum64String(k))) {
			page.Keys = append(page.Keys, antientropy.KeyDigest{Key: []byte(k), Digest: d})
		}
	}
	slices.SortFunc(page.Keys, func(a, b antientropy.KeyDigest) int { return antientropy.KeyOrder(a.Key, b.Key) })
	return page, nil
}

func ExampleCompare() {
	cfg := antientropy.Config{} // one partition, default depth
	a := mapSide{antientropy.NewTree(cfg), map[string]uint64{}}
	b := mapSide{antientropy.NewTree(cfg), map[string]uint64{}}
	for i := range 1000 {
		a.put(fmt.Sprint("cart:", i), uint64(i)+1)
		b.put(fmt.Sprint("cart:", i), uint64(i)+1)
	}
	b.put("cart:7", 99) // a newer version on b

	diffs, stats, err := antientropy.Compare(context.Background(), a, b, cfg, 0)
	if err != nil {
		panic(err)
	}
	for _, d := range diffs {
		fmt.Printf("%s: local %d, remote %d\n", d.Key, d.Local, d.Remote)
	}
	fmt.Println("rounds:", stats.Rounds)
	// Output:
	// cart:7: local 8, remote 99
	// rounds: 4
}

// A tree depends only on which keys it holds at which digests, not on the
// order of the writes that put them there.
func ExampleTree_Update() {
	x := antientropy.NewTree(antientropy.Config{})
	y := antientropy.NewTree(antientropy.Config{})
	k1, k2 := []byte("a"), []byte("b")
	x.Update(xxhash.Sum64(k1), k1, 0, 1)
	x.Update(xxhash.Sum64(k2), k2, 0, 2)
	y.Update(xxhash.Sum64(k2), k2, 0, 5) // a stale version, later replaced
	y.Update(xxhash.Sum64(k1), k1, 0, 1)
	y.Update(xxhash.Sum64(k2), k2, 5, 2)
	fmt.Println(x.Root() == y.Root())
	// Output: true
}
