package antientropy_test

import (
	"bytes"
	"context"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/cespare/xxhash/v2"
	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/antientropy"
)

// universeSize is how many candidate keys of one partition a property test
// draws from.
const universeSize = 3000

// universes finds keys that hash into a given partition by trying "k0",
// "k1", …; it caches per (partition bits, partition) for one test.
type universes map[[2]int][]string

func (u universes) of(bits, partition int) []string {
	if keys, ok := u[[2]int{bits, partition}]; ok {
		return keys
	}
	keys := make([]string, 0, universeSize)
	for i := 0; len(keys) < universeSize; i++ {
		k := "k" + strconv.Itoa(i)
		if bits == 0 || int(xxhash.Sum64String(k)>>(64-bits)) == partition {
			keys = append(keys, k)
		}
	}
	u[[2]int{bits, partition}] = keys
	return keys
}

// world is one drawn scenario: a tree shape, a partition, and the two
// replicas' maps of key to digest.
type world struct {
	cfg           antientropy.Config
	partition     int
	local, remote map[string]uint64
}

func genWorld(t *rapid.T, u universes) world {
	w := world{local: map[string]uint64{}, remote: map[string]uint64{}}
	w.cfg.PartitionBits = rapid.IntRange(0, 8).Draw(t, "partitionBits")
	w.cfg.Depth = rapid.IntRange(0, 3).Draw(t, "depth") // 0 is the default, 2
	last := 1<<w.cfg.PartitionBits - 1
	w.partition = rapid.SampledFrom([]int{0, last / 2, last}).Draw(t, "partition")
	keys := u.of(w.cfg.PartitionBits, w.partition)
	if rapid.Bool().Draw(t, "crowd one leaf") {
		// Every key in one leaf: a shallow tree then puts up to ~190 keys
		// in it, and a deep one a handful.
		tree := antientropy.NewTree(w.cfg)
		leaf := tree.Leaf(xxhash.Sum64String(keys[0]))
		keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool {
			return tree.Leaf(xxhash.Sum64String(k)) != leaf
		})
	}
	n := rapid.IntRange(0, len(keys)).Draw(t, "keys")
	keys = rapid.Permutation(keys).Draw(t, "order")[:n]
	// A tiny digest range makes many keys share a digest, which must not
	// confuse items of different keys.
	maxDigest := rapid.SampledFrom([]uint64{3, math.MaxUint64}).Draw(t, "max digest")
	digest := rapid.Uint64Range(1, maxDigest)
	permille := rapid.SampledFrom([]int{0, 1, 10, 100, 500, 1000}).Draw(t, "differ ‰")
	for _, k := range keys {
		d := digest.Draw(t, "digest")
		if rapid.IntRange(0, 999).Draw(t, "roll") >= permille {
			w.local[k], w.remote[k] = d, d
			continue
		}
		switch rapid.IntRange(0, 2).Draw(t, "how") {
		case 0: // both hold it, at different digests
			other := digest.Filter(func(o uint64) bool { return o != d }).Draw(t, "other digest")
			w.local[k], w.remote[k] = d, other
		case 1:
			w.local[k] = d
		case 2:
			w.remote[k] = d
		}
	}
	return w
}

// bruteDiff is the oracle: every key whose digests differ, by key.
func bruteDiff(local, remote map[string]uint64) []antientropy.Diff {
	var out []antientropy.Diff
	seen := func(k string, l, r uint64) {
		if l != r {
			out = append(out, antientropy.Diff{Key: []byte(k), Local: l, Remote: r})
		}
	}
	for k, l := range local {
		seen(k, l, remote[k])
	}
	for k, r := range remote {
		if _, ok := local[k]; !ok {
			seen(k, 0, r)
		}
	}
	slices.SortFunc(out, func(a, b antientropy.Diff) int { return bytes.Compare(a.Key, b.Key) })
	return out
}

// sameDiffs compares diffs; the test replicas call odd digests tombstones,
// so each side's tombstone flag follows from its digest.
func sameDiffs(a, b []antientropy.Diff) bool {
	return slices.EqualFunc(a, b, func(x, y antientropy.Diff) bool {
		return bytes.Equal(x.Key, y.Key) && x.Local == y.Local && x.Remote == y.Remote &&
			x.LocalTombstone == (x.Local%2 == 1) && x.RemoteTombstone == (x.Remote%2 == 1)
	})
}

// comparePaged runs CompareEach with opts and returns every diff sorted by
// key, after checking that the pages came in ascending KeyOrder.
func comparePaged(t *rapid.T, local, remote *replica, w world, opts antientropy.Options) ([]antientropy.Diff, antientropy.Stats) {
	var all []antientropy.Diff
	st, err := antientropy.CompareEach(context.Background(), local, remote, w.cfg, w.partition, opts, func(page []antientropy.Diff) error {
		if len(page) == 0 {
			t.Fatal("an empty page of diffs")
		}
		for _, d := range page {
			if len(all) > 0 && antientropy.KeyOrder(all[len(all)-1].Key, d.Key) >= 0 {
				t.Fatalf("diff %q came after %q", d.Key, all[len(all)-1].Key)
			}
			all = append(all, d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(all, func(a, b antientropy.Diff) int { return bytes.Compare(a.Key, b.Key) })
	return all, st
}

// The Merkle exchange finds exactly the brute-force set difference: no
// misses, no extras, at a cost bounded by the differences; syncing what it
// finds makes both trees equal to trees rebuilt from the merged data.
func TestPropertyCompareFindsExactlyTheDifferences(t *testing.T) {
	u := universes{}
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t, u)
		local, remote := build(w.cfg, w.partition, w.local), build(w.cfg, w.partition, w.remote)

		opts := antientropy.Options{
			PageKeys:   rapid.SampledFrom([]int{0, 1, 2, 7, 50}).Draw(t, "page keys"),
			PageLeaves: rapid.SampledFrom([]int{0, 1, 3}).Draw(t, "page leaves"),
		}
		diffs, st := comparePaged(t, local, remote, w, opts)
		if want := bruteDiff(w.local, w.remote); !sameDiffs(diffs, want) {
			t.Fatalf("Compare found %d diffs %v\nbrute force %d %v", len(diffs), diffs, len(want), want)
		}
		checkCost(t, local.tree, local, remote, diffs, st, opts)

		back, _ := comparePaged(t, remote, local, w, opts)
		for i := range back {
			back[i].Local, back[i].Remote = back[i].Remote, back[i].Local
			back[i].LocalTombstone, back[i].RemoteTombstone = back[i].RemoteTombstone, back[i].LocalTombstone
		}
		if !sameDiffs(back, diffs) {
			t.Fatalf("Compare is not symmetric:\n%v\n%v", diffs, back)
		}

		syncAndCheck(t, w, local, remote, diffs)
	})
}

// checkCost holds Compare to its promise: one hash for equal trees, and at
// most 16 hashes per level and the remote keys of the differing leaves for
// each difference, each remote key sent once, in pages that each hold a
// full page of one side's keys (but the last of each group of leaves).
func checkCost(t *rapid.T, tree *antientropy.Tree, local, remote *replica, diffs []antientropy.Diff, st antientropy.Stats, opts antientropy.Options) {
	if len(diffs) == 0 {
		if st.Keys > len(remote.data) {
			t.Fatalf("no differences but stats %+v", st)
		}
		if tree.Root() == remote.tree.Root() && (st.Rounds != 1 || st.Hashes != 1) {
			t.Fatalf("equal roots but stats %+v", st)
		}
		return
	}
	if maxHashes := 1 + antientropy.Fanout*tree.Depth()*len(diffs); st.Hashes > maxHashes {
		t.Fatalf("%d diffs cost %d hashes, more than %d", len(diffs), st.Hashes, maxHashes)
	}
	leaves := map[int]bool{}
	for _, d := range diffs {
		leaves[tree.Leaf(xxhash.Sum64(d.Key))] = true
	}
	inLeaves := func(r *replica) int {
		n := 0
		for k := range r.data {
			if leaves[tree.Leaf(xxhash.Sum64String(k))] {
				n++
			}
		}
		return n
	}
	opts = withDefaults(opts)
	groups := (len(leaves) + opts.PageLeaves - 1) / opts.PageLeaves
	maxPages := groups + (inLeaves(local)+inLeaves(remote))/opts.PageKeys
	if pages := st.Rounds - tree.Depth() - 1; pages < groups || pages > maxPages || st.Keys != inLeaves(remote) {
		t.Fatalf("stats %+v: want %d to %d pages and the %d remote keys of %d differing leaves",
			st, groups, maxPages, inLeaves(remote), len(leaves))
	}
}

func withDefaults(o antientropy.Options) antientropy.Options {
	if o.PageKeys == 0 {
		o.PageKeys = antientropy.DefaultPageKeys
	}
	if o.PageLeaves == 0 {
		o.PageLeaves = antientropy.DefaultPageLeaves
	}
	return o
}

// syncAndCheck applies a fake merge (the larger digest wins) to every diff
// on both replicas through Update, then checks that both trees equal a tree
// rebuilt from the merged data and that a second exchange finds nothing.
func syncAndCheck(t *rapid.T, w world, local, remote *replica, diffs []antientropy.Diff) {
	for _, d := range diffs {
		merged := max(d.Local, d.Remote)
		local.set(string(d.Key), merged)
		remote.set(string(d.Key), merged)
	}
	merged := map[string]uint64{}
	for _, m := range []map[string]uint64{w.local, w.remote} {
		for k, d := range m {
			merged[k] = max(merged[k], d)
		}
	}
	fresh := allHashes(build(w.cfg, w.partition, merged).tree)
	if got := allHashes(local.tree); !reflect.DeepEqual(got, fresh) {
		t.Fatalf("synced local tree differs from a rebuild: root %x, want %x", got[0], fresh[0])
	}
	if got := allHashes(remote.tree); !reflect.DeepEqual(got, fresh) {
		t.Fatalf("synced remote tree differs from a rebuild: root %x, want %x", got[0], fresh[0])
	}
	again, st, err := antientropy.Compare(context.Background(), local, remote, w.cfg, w.partition)
	if err != nil || len(again) != 0 || st.Rounds != 1 || st.Hashes != 1 {
		t.Fatalf("after sync: diffs %v, stats %+v, err %v", again, st, err)
	}
}

// A tree depends only on the final (key, digest) set: any history of writes,
// in any order, gives the tree built from scratch from where it ended.
func TestPropertyTreeDependsOnlyOnFinalState(t *testing.T) {
	u := universes{}
	rapid.Check(t, func(t *rapid.T) {
		cfg := antientropy.Config{Depth: rapid.IntRange(1, 3).Draw(t, "depth")}
		keys := u.of(0, 0)[:rapid.IntRange(1, 200).Draw(t, "universe")]
		r := newReplica(cfg, 0)
		for _, i := range rapid.SliceOf(rapid.IntRange(0, len(keys)-1)).Draw(t, "writes") {
			r.set(keys[i], rapid.Uint64Range(0, 5).Draw(t, "digest")) // 0 deletes
		}
		order := rapid.Permutation(slices.Sorted(maps.Keys(r.data))).Draw(t, "rebuild order")
		fresh := newReplica(cfg, 0)
		for _, k := range order {
			fresh.set(k, r.data[k])
		}
		if !reflect.DeepEqual(allHashes(r.tree), allHashes(fresh.tree)) {
			t.Fatalf("tree after history differs from rebuild in %v", order)
		}
		if len(r.data) == 0 && !reflect.DeepEqual(allHashes(r.tree), allHashes(antientropy.NewTree(cfg))) {
			t.Fatal("deleting every key did not leave the empty tree")
		}
	})
}

// Update(k, d, d) changes nothing; Update(k, 0, d) then Update(k, d, 0)
// restores the tree.
func TestPropertyUpdateInverses(t *testing.T) {
	u := universes{}
	rapid.Check(t, func(t *rapid.T) {
		cfg := antientropy.Config{Depth: rapid.IntRange(1, 3).Draw(t, "depth")}
		keys := u.of(0, 0)
		r := newReplica(cfg, 0)
		for _, k := range keys[:rapid.IntRange(0, 100).Draw(t, "keys")] {
			r.set(k, rapid.Uint64Range(1, math.MaxUint64).Draw(t, "digest"))
		}
		before := allHashes(r.tree)
		k := []byte(rapid.SampledFrom(keys[:200]).Draw(t, "key"))
		d := rapid.Uint64Range(1, math.MaxUint64).Draw(t, "d")
		h := xxhash.Sum64(k)
		r.tree.Update(h, k, d, d)
		if !reflect.DeepEqual(allHashes(r.tree), before) {
			t.Fatal("Update(k, d, d) changed the tree")
		}
		if _, held := r.data[string(k)]; held {
			return // (k, 0, d) is only meaningful for an absent key
		}
		r.tree.Update(h, k, 0, d)
		if r.tree.Root() == before[0][0] {
			t.Fatal("adding a key left the root unchanged")
		}
		r.tree.Update(h, k, d, 0)
		if !reflect.DeepEqual(allHashes(r.tree), before) {
			t.Fatal("Update(k, 0, d) then Update(k, d, 0) did not restore the tree")
		}
	})
}

// Leaves cut each partition into equal contiguous ranges of key hashes, in
// order, and Leaf agrees with LeafRange: the node's range scan for a leaf
// lists exactly the keys the tree puts there.
func TestPropertyLeafRangesTileThePartition(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := antientropy.Config{
			PartitionBits: rapid.IntRange(0, antientropy.MaxPartitionBits).Draw(t, "partitionBits"),
			Depth:         rapid.IntRange(0, antientropy.MaxDepth).Draw(t, "depth"),
		}
		tree := antientropy.NewTree(cfg)
		h := rapid.Uint64().Draw(t, "hash")
		p := 0
		if cfg.PartitionBits > 0 {
			p = int(h >> (64 - cfg.PartitionBits))
		}
		leaf := tree.Leaf(h)
		lo, hi := tree.LeafRange(leaf, p)
		if h < lo || h > hi {
			t.Fatalf("hash %x in leaf %d of partition %d, outside its range [%x, %x]", h, leaf, p, lo, hi)
		}
		if tree.Leaf(lo) != leaf || tree.Leaf(hi) != leaf {
			t.Fatalf("range [%x, %x] of leaf %d has ends in leaves %d and %d", lo, hi, leaf, tree.Leaf(lo), tree.Leaf(hi))
		}
		if leaf+1 < tree.Leaves() {
			if next, _ := tree.LeafRange(leaf+1, p); next != hi+1 {
				t.Fatalf("leaf %d ends at %x but leaf %d starts at %x", leaf, hi, leaf+1, next)
			}
		}
		first, _ := tree.LeafRange(0, p)
		_, end := tree.LeafRange(tree.Leaves()-1, p)
		if width := uint64(1) << (64 - cfg.PartitionBits); cfg.PartitionBits > 0 &&
			(first != uint64(p)*width || end != first+width-1) {
			t.Fatalf("leaves of partition %d cover [%x, %x], not the partition", p, first, end)
		}
		if cfg.PartitionBits == 0 && (first != 0 || end != math.MaxUint64) {
			t.Fatalf("leaves of the only partition cover [%x, %x]", first, end)
		}
	})
}
